from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from billing.money import InvalidAmount, format_pkr, parse_amount
from reseller.cheap.servers import InvalidCheapServer, cheap_server_add
from upstream.models import SLOTS, Provider
from upstream.selectors import country_get, offers_for, service_by_code_or_id

ANY = "any"


class Command(ActorCommand):
    help = (
        "Add a cheap server (cheap_handler.php's `server`): what getServers lists and buyNumber sells. "
        "Prints the new server's id alone on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--type", required=True, help="cheap_handler.php `type`: 1 or 2")
        parser.add_argument("--name", required=True, help="shown by getServers, e.g. 'Telegram - any country'")
        parser.add_argument(
            "--slot", required=True, help="the provider slot 1-6 that supplies it, or 'any' (cheapest first, failover)"
        )
        parser.add_argument(
            "--service",
            action="append",
            required=True,
            help="a service it sells: our code (tg) or numeric id; repeat for several",
        )
        parser.add_argument("--country", required=True, help="SMS-Activate country number (22), or 'any'")
        parser.add_argument("--price", help="fixed sell price in PKR (> 0); omitted: the cost + the markup rules")
        parser.add_argument("--disabled", action="store_true", help="create it disabled (getServers leaves it out)")

    def handle(self, *args, type, name, slot, service, country, price, disabled, **options):
        type_number = _type(type)
        provider = _provider(slot)
        services = _services(service)
        country_row = _country(country)
        try:
            fixed = parse_amount(price) if price is not None else None
        except InvalidAmount as exc:
            raise CommandError(f"--price: {exc}") from None
        try:
            server = cheap_server_add(
                type=type_number,
                name=name,
                provider=provider,
                services=services,
                country=country_row,
                price=fixed,
                enabled=not disabled,
            )
        except InvalidCheapServer as exc:
            raise CommandError(str(exc)) from None
        source = f"slot {provider.slot} ({provider.name or provider.protocol})" if provider else "any provider"
        where = f"country {country_row.pk} ({country_row.name})" if country_row else "any country"
        pricing = f"fixed price {format_pkr(fixed)} PKR" if fixed is not None else "cost + markup rules"
        self.stdout.write(
            f"added cheap server #{server.pk} type {server.type} {server.name!r}: "
            f"{', '.join(s.code for s in services)} from {source}, {where}, {pricing}, "
            f"{'disabled' if disabled else 'enabled'}"
        )
        for line in _stock_notes(provider, services, country_row, fixed):
            self.stdout.write(line)
        self.stdout.write(str(server.pk))


def _type(raw: str) -> int:
    if raw.strip() not in ("1", "2"):
        raise CommandError(f"--type must be 1 or 2, not {raw!r}")
    return int(raw)


def _provider(raw: str) -> Provider | None:
    text = raw.strip().lower()
    if text == ANY:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) not in SLOTS:
        raise CommandError(f"--slot must be a provider slot 1-6 or 'any', not {raw!r}")
    provider = Provider.objects.filter(slot=int(text)).first()
    if provider is None:
        raise CommandError(f"no provider in slot {text} (add one with provider_add first)")
    return provider


def _services(raws: list[str]):
    found, unknown = [], []
    for raw in raws:
        service = service_by_code_or_id(raw, disabled=True)
        if service is None:
            unknown.append(raw)
        elif service not in found:
            found.append(service)
    if unknown:
        raise CommandError(
            f"unknown --service {', '.join(repr(u) for u in unknown)}: use our service code (tg) or numeric id"
        )
    return found


def _country(raw: str):
    text = raw.strip()
    if text.lower() == ANY:
        return None
    country = country_get(text, disabled=True)
    if country is None:
        raise CommandError(
            f"unknown --country {raw!r}: an SMS-Activate country number (22 India, 66 Pakistan, ...) or 'any'"
        )
    return country


def _stock_notes(provider, services, country, fixed) -> list[str]:
    """Warnings for services buyNumber cannot sell yet (the server is created anyway: a later
    catalogue_sync may bring stock)."""
    notes = []
    if provider is not None and not provider.enabled:
        notes.append(f"note: provider slot {provider.slot} is disabled: nothing sells until it is enabled")
    if country is not None and not country.enabled:
        notes.append(f"note: country {country.pk} is switched off: nothing sells there until it is switched on")
    for service in services:
        if not service.enabled:
            notes.append(f"note: {service.code} is switched off: buyNumber answers NO_SERVICES for it")
            continue
        offers = list(
            offers_for(
                service_id=service.pk,
                country_id=country.pk if country else None,
                provider_slot=provider.slot if provider else None,
            )
        )
        if not offers:
            notes.append(f"note: no offer in stock for {service.code} yet: buyNumber answers NO_NUMBERS for it")
        elif fixed is not None and all(o.provider.to_pkr(o.cost) > fixed for o in offers):
            notes.append(
                f"note: every offer for {service.code} costs more than {format_pkr(fixed)} PKR: "
                "a fixed price never sells at a loss, so buyNumber answers NO_NUMBERS for it"
            )
    return notes
