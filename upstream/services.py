"""Writes on providers and the catalogue.

Catalogue sync talks to the upstream first (every call, no transaction open),
then writes everything in one transaction, so a sync is all or nothing and a
slow upstream never holds a database lock.
"""

import csv
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.redaction import redact
from upstream.destinations import RefusedDestination, url_check
from upstream.email_catalogue import email_offers_write, email_prices_fetch
from upstream.models import (
    SLOTS,
    Country,
    CountryMapping,
    EmailService,
    Offer,
    Provider,
    Service,
    ServiceMapping,
    balance_snapshot_record,
)
from upstream.operator_catalogue import operators_fetch, operators_write
from upstream.providers.base import (
    CLIENTS,
    PriceEntry,
    ProviderError,
    ProviderUnavailable,
    Unsupported,
    client_for,
    error_summary,
)
from upstream.providers.kopeechka import config_check as kopeechka_config_check
from upstream.providers.otpget import provider_type
from upstream.providers.otpget_cheap import OtpGetCheapClient
from upstream.providers.otpget_email import config_check as otpget_email_config_check
from upstream.providers.otpget_rental import config_check as otpget_rental_config_check
from upstream.providers.sandbox import parse_config
from upstream.providers.sms_activate import SmsActivateClient
from upstream.rent_catalogue import rent_offers_write, rent_prices_fetch

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
COUNTRIES_CSV = DATA_DIR / "getsms_countries.csv"
SERVICES_CSV = DATA_DIR / "services.csv"
EMAIL_SERVICES_CSV = DATA_DIR / "email_services.csv"
NOT_IMPLEMENTED = "BAD_ACTION"  # the upstream's own word for an action it does not have
BATCH_SIZE = 5000
COST_QUANTUM = Decimal("0.0001")  # Offer.cost has 4 decimal places


class InvalidProvider(ValueError):
    """provider_add was given something it cannot store (the message says what)."""


# --- providers -------------------------------------------------------------------


KOPEECHKA_CURRENCIES = ("USD", "RUB")  # what its `cost=` parameter can ask prices in


def provider_currency_check(protocol: str, currency: str) -> None:
    """A Kopeechka-style upstream prices in USD or RUB only (its `cost=` parameter); a row in any
    other currency would read its prices as that currency. InvalidProvider."""
    if protocol == Provider.Protocol.KOPEECHKA and currency not in KOPEECHKA_CURRENCIES:
        raise InvalidProvider(
            f"a kopeechka upstream prices in USD or RUB: set the currency to one of them (and its rate), not {currency}"
        )


def provider_config_check(protocol: str, config: Any, *, slot: int | None) -> dict:
    """The config to store for a provider of `protocol` (None: {}); InvalidProvider when the protocol
    would refuse it at its first call (provider_add and the admin's form)."""
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise InvalidProvider("config must be a JSON object")
    if protocol == Provider.Protocol.SANDBOX:
        try:  # the sandbox validates its own keys
            parse_config(config)
        except ProviderError as exc:
            raise InvalidProvider(str(exc)) from None
    if protocol == Provider.Protocol.SMSACTIVATE:
        try:  # the rent keys (upstream/providers/sms_activate_rent.py)
            SmsActivateClient(Provider(slot=slot, protocol=protocol, config=config)).rent_config_check()
        except ProviderUnavailable as exc:
            raise InvalidProvider(str(exc)) from None
    if protocol == Provider.Protocol.OTPGET_CHEAP:
        client = OtpGetCheapClient(Provider(slot=slot, protocol=protocol, config=config))
        try:  # what every call sends and every price names: refused now rather than at the first sync
            provider_type(client.provider), client.country
        except ProviderUnavailable as exc:
            raise InvalidProvider(str(exc)) from None
    if protocol == Provider.Protocol.OTPGET_RENTAL:
        try:  # `provider`, `country_map`, `utc_offset_hours` (upstream/providers/otpget_rental.py)
            otpget_rental_config_check(config)
        except ProviderUnavailable as exc:
            raise InvalidProvider(str(exc)) from None
    if protocol == Provider.Protocol.OTPGET_EMAIL:
        try:  # `servers`, `domains` (upstream/providers/otpget_email.py)
            otpget_email_config_check(config)
        except ProviderUnavailable as exc:
            raise InvalidProvider(str(exc)) from None
    if protocol == Provider.Protocol.KOPEECHKA:
        try:  # `default_site`, `regex`, `soft`, `zones`, `zones_count` (upstream/providers/kopeechka.py)
            kopeechka_config_check(config)
        except ProviderUnavailable as exc:
            raise InvalidProvider(str(exc)) from None
    return config


def provider_add(
    *,
    slot: int,
    protocol: str,
    url: str,
    api_key: str,
    currency: str = "PKR",
    rate: Decimal | str = Decimal("1"),
    name: str = "",
    config: dict | None = None,
) -> Provider:
    """Store a new upstream account in a free slot (1-6). Raises InvalidProvider with a
    message fit for an operator; the API key never appears in it."""
    if not isinstance(slot, int) or slot not in SLOTS:
        raise InvalidProvider(f"slot must be an integer from {SLOTS.start} to {SLOTS.stop - 1}, not {slot!r}")
    if protocol not in CLIENTS:
        raise InvalidProvider(f"unknown protocol {protocol!r} (known: {', '.join(sorted(CLIENTS))})")
    url = (url or "").strip()
    if protocol != Provider.Protocol.SANDBOX:
        if not url:
            raise InvalidProvider(f"a URL is required for protocol {protocol!r}")
        if not (api_key or "").strip():
            raise InvalidProvider(f"an API key is required for protocol {protocol!r}")
    if url:
        try:  # http(s), a host, no credentials, a public destination (upstream/destinations.py)
            url = url_check(url)
        except RefusedDestination as exc:
            raise InvalidProvider(f"provider URL refused: {exc}") from None
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidProvider(f"currency must be a 3-letter ISO code, not {currency!r}")
    try:
        rate = Decimal(str(rate).strip())
    except InvalidOperation:
        raise InvalidProvider(f"rate must be a number (PKR per {currency}), not {rate!r}") from None
    if not rate.is_finite() or rate <= 0:
        raise InvalidProvider(f"rate must be positive (PKR per {currency}), not {rate}")
    provider_currency_check(protocol, currency)
    config = provider_config_check(protocol, config, slot=slot)
    if Provider.objects.filter(slot=slot).exists():
        raise InvalidProvider(f"slot {slot} is already taken by {Provider.objects.get(slot=slot)}")
    provider = Provider(
        slot=slot,
        protocol=protocol,
        base_url=url,
        api_key=(api_key or "").strip(),
        currency=currency,
        rate_to_pkr=rate,
        name=name.strip(),
        config=config,
    )
    try:
        provider.full_clean(validate_unique=False)
    except ValidationError as exc:
        fields = {key: value for key, value in exc.message_dict.items() if key != "api_key"}
        raise InvalidProvider(f"invalid provider: {fields or 'API key too long'}") from None
    try:
        with transaction.atomic():
            provider.save()
    except IntegrityError:  # a concurrent provider_add won the slot
        raise InvalidProvider(f"slot {slot} is already taken") from None
    return provider


# --- catalogue -------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@transaction.atomic
def _shown_error(provider: Provider, exc: Exception) -> str:
    """What the admin may show of a failed sync or balance call: the error's class and its
    safe detail, the provider's key masked; a bug in our own code is named, its text is logged."""
    if isinstance(exc, ProviderError):
        text = error_summary(exc)
    else:
        text = f"internal error ({type(exc).__name__}); see the log"
    return redact(text, provider.api_key)[:400]


def _record_failure(provider: Provider, exc: Exception, *, call: str) -> None:
    """Keep the last error of `call` ("sync" or "balance") and its time on the provider row."""
    now, text = timezone.now(), _shown_error(provider, exc)
    Provider.objects.filter(pk=provider.pk).update(**{f"last_{call}_error": text, f"last_{call}_error_at": now})
    setattr(provider, f"last_{call}_error", text)
    setattr(provider, f"last_{call}_error_at", now)


def provider_balance_sync(*, provider: Provider) -> Decimal | None:
    """Fetch the upstream balance, store it, warn (log) when below the provider's threshold.
    None when the protocol has no balance call. A failure is kept on the provider
    (`last_balance_error`, shown in the admin) and raised."""
    from upstream.health import low_balance

    try:
        balance = Decimal(client_for(provider).balance()).quantize(Decimal("0.0001"))
    except Unsupported:
        return None
    except ProviderError as exc:
        if exc.raw == NOT_IMPLEMENTED:
            return None
        _record_failure(provider, exc, call="balance")
        raise
    except Exception as exc:
        _record_failure(provider, exc, call="balance")
        raise
    now = timezone.now()
    Provider.objects.filter(pk=provider.pk).update(balance=balance, balance_checked_at=now)
    provider.balance, provider.balance_checked_at = balance, now
    balance_snapshot_record(provider, balance, now)
    if low_balance(provider):
        log.warning(
            "provider slot %s: low upstream balance %s %s (threshold %s)",
            provider.slot,
            balance,
            provider.currency,
            provider.low_balance_threshold,
        )
    return balance


def provider_webhook_secret(*, provider: Provider) -> str:
    """The secret in the provider's webhook URL, created on first use."""
    if not provider.webhook_secret:
        Provider.objects.filter(pk=provider.pk, webhook_secret="").update(webhook_secret=secrets.token_urlsafe(24))
        provider.refresh_from_db(fields=["webhook_secret"])
    return provider.webhook_secret


def catalogue_seed() -> tuple[int, int]:
    """Load the reference countries (SMS-Activate numbering) and services from
    upstream/data/*.csv. Idempotent; existing rows are never renamed.
    Returns (countries created, services created)."""
    countries = {int(row["sms_activate_id"]): row["name"].strip() for row in _read_csv(COUNTRIES_CSV)}
    services = {row["code"].strip(): row["name"].strip() for row in _read_csv(SERVICES_CSV)}
    return _create_missing(countries, services)


def email_services_seed() -> int:
    """Load Server 1's e-mail services (OTPGet's table) from upstream/data/email_services.csv.
    Idempotent; existing rows are never changed. Returns how many were created."""
    rows = _read_csv(EMAIL_SERVICES_CSV)
    known = set(EmailService.objects.values_list("code", flat=True))
    new = [
        EmailService(code=r["code"].strip(), name=r["name"].strip(), site=r["site"].strip())
        for r in rows
        if r["code"].strip() not in known
    ]
    EmailService.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _create_missing(countries: dict[int, str], services: dict[str, str]) -> tuple[int, int]:
    """Create the Country/Service rows not present yet (in file order, so service ids are stable)."""
    known_countries = set(Country.objects.filter(id__in=countries).values_list("id", flat=True))
    new_countries = [Country(id=cid, name=name) for cid, name in countries.items() if cid not in known_countries]
    Country.objects.bulk_create(new_countries, ignore_conflicts=True, batch_size=BATCH_SIZE)
    known_services = set(Service.objects.filter(code__in=services).values_list("code", flat=True))
    new_services = [Service(code=code, name=name) for code, name in services.items() if code not in known_services]
    Service.objects.bulk_create(new_services, ignore_conflicts=True, batch_size=BATCH_SIZE)
    return len(new_countries), len(new_services)


@dataclass(frozen=True)
class SyncResult:
    provider_slot: int
    countries_created: int
    services_created: int
    offers_created: int
    offers_updated: int  # cost or stock changed
    offers_unchanged: int
    offers_zeroed: int  # missing from the price list: stock set to 0
    entries_skipped: int  # price entries naming a country or service we could not name
    balance: Decimal | None
    checked_at: datetime
    # Rent offers (upstream/rent_catalogue.py): `rents` False where the protocol does not rent;
    # `rent_error` the summary of a failed rent_prices (rent offers then left as they were).
    rents: bool = False
    rent_offers_created: int = 0
    rent_offers_updated: int = 0
    rent_offers_unchanged: int = 0
    rent_offers_zeroed: int = 0
    rent_entries_skipped: int = 0
    rent_error: str = ""
    # E-mail offers (upstream/email_catalogue.py), likewise.
    emails: bool = False
    email_offers_created: int = 0
    email_offers_updated: int = 0
    email_offers_unchanged: int = 0
    email_offers_zeroed: int = 0
    email_entries_skipped: int = 0
    email_error: str = ""
    # Operators (upstream/operator_catalogue.py): `operators` False where the protocol has no
    # operator list; `operators_error` the summary of a failed list (operators then kept).
    operators: bool = False
    operators_created: int = 0
    operators_seen: int = 0
    operators_removed: int = 0
    operators_skipped: int = 0
    operators_error: str = ""

    def summary(self) -> str:
        text = self._activation_summary()
        if self.operators_error:
            text = f"{text}; operators failed ({self.operators_error}), operators kept"
        elif self.operators:
            text = (
                f"{text}; operators: {self.operators_created} new, {self.operators_seen} seen, "
                f"{self.operators_removed} removed, {self.operators_skipped} skipped"
            )
        if self.email_error:
            text = f"{text}; e-mail prices failed ({self.email_error}), e-mail offers kept"
        elif self.emails:
            text = (
                f"{text}; e-mail offers: {self.email_offers_created} new, {self.email_offers_updated} updated, "
                f"{self.email_offers_unchanged} unchanged, {self.email_offers_zeroed} out of stock, "
                f"{self.email_entries_skipped} skipped"
            )
        return text

    def _activation_summary(self) -> str:
        text = (
            f"slot {self.provider_slot}: {self.offers_created} new offers, {self.offers_updated} updated, "
            f"{self.offers_unchanged} unchanged, {self.offers_zeroed} out of stock; "
            f"{self.countries_created} new countries, {self.services_created} new services; "
            f"{self.entries_skipped} price entries skipped; balance {self.balance}"
        )
        if self.rent_error:
            return f"{text}; rent prices failed ({self.rent_error}), rent offers kept"
        if self.rents:
            return (
                f"{text}; rent offers: {self.rent_offers_created} new, {self.rent_offers_updated} updated, "
                f"{self.rent_offers_unchanged} unchanged, {self.rent_offers_zeroed} out of stock, "
                f"{self.rent_entries_skipped} skipped"
            )
        return text


def catalogue_sync(*, provider: Provider, progress: Callable[[str], None] | None = None) -> SyncResult:
    """Refresh one provider's offers from its upstream (`_catalogue_sync`), and keep on the
    provider when a sync last succeeded (`last_sync_at`) or the last error and its time
    (`last_sync_error`, `last_sync_error_at`), which the admin and the dashboard show."""
    try:
        result = _catalogue_sync(provider=provider, progress=progress)
    except Exception as exc:
        _record_failure(provider, exc, call="sync")
        raise
    now = timezone.now()
    Provider.objects.filter(pk=provider.pk).update(last_sync_at=now)
    provider.last_sync_at = now
    return result


def _catalogue_sync(*, provider: Provider, progress: Callable[[str], None] | None = None) -> SyncResult:
    """Refresh one provider's offers from its upstream.

    Creates the countries and services the upstream names that we do not know
    (with the upstream's names; known rows keep theirs), upserts the Offers whose
    cost (provider's currency) or stock changed, sets stock 0 on this provider's
    offers missing from the price list, and records the upstream balance. Where the client
    `supports_rent`, the same for its RentOffers (upstream/rent_catalogue.py).
    Provider errors propagate (base.py exceptions) and nothing is written then; a failed
    rent price list only leaves the rent offers as they were (`rent_error`).
    """

    def say(message: str) -> None:
        if progress is not None:
            progress(f"slot {provider.slot}: {message}")

    client = client_for(provider)
    say(f"fetching catalogue from {provider.name or provider.protocol}")
    upstream_countries = client.countries()
    upstream_services = client.services()
    say(f"{len(upstream_countries)} countries, {len(upstream_services)} services")
    entries = client.prices()
    say(f"{len(entries)} price entries")
    rent = rent_prices_fetch(client)
    if rent is not None:
        say(f"{len(rent.prices)} rent price entries" if rent.prices is not None else f"rent prices: {rent.error}")
    mail = email_prices_fetch(client)
    if mail is not None:
        say(f"{len(mail.prices)} e-mail price entries" if mail.prices is not None else f"e-mail prices: {mail.error}")
    ops = operators_fetch(client)
    if ops is not None:
        say(f"{len(ops.prices)} operator entries" if ops.prices is not None else f"operators: {ops.error}")
    try:
        balance = client.balance()
    except ProviderError as exc:
        if not isinstance(exc, Unsupported) and exc.raw != NOT_IMPLEMENTED:
            raise
        say(f"this upstream has no balance call ({exc.raw}); keeping the last known balance")
        balance = None

    with transaction.atomic():
        if client.native_codes:
            countries_created, services_created = _create_missing(
                {c.id: c.name for c in upstream_countries}, {s.code: s.name for s in upstream_services}
            )
        else:
            countries_created = services_created = 0
        entries, unmapped = _translate(
            provider,
            native=client.native_codes,
            countries=upstream_countries,
            services=upstream_services,
            entries=entries,
        )
        result = _upsert_offers(provider=provider, entries=entries)
        result["skipped"] += unmapped
        rents = {}
        if rent is not None and rent.prices is not None:
            rents = rent_offers_write(provider=provider, native=client.native_codes, prices=rent.prices)
        mails = {}
        if mail is not None and mail.prices is not None:
            mails = email_offers_write(provider=provider, prices=mail.prices)
        operators = {}
        if ops is not None and ops.prices is not None:
            operators = operators_write(provider=provider, native=client.native_codes, entries=ops.prices)
        checked_at = timezone.now()
        if balance is not None:
            balance = Decimal(balance).quantize(Decimal("0.0001"))
            Provider.objects.filter(pk=provider.pk).update(balance=balance, balance_checked_at=checked_at)
            provider.balance, provider.balance_checked_at = balance, checked_at
            balance_snapshot_record(provider, balance, checked_at)
        else:
            balance = provider.balance
    say(
        f"{result['created']} offers created, {result['updated']} updated, {result['unchanged']} unchanged, "
        f"{result['zeroed']} set out of stock"
    )
    return SyncResult(
        provider_slot=provider.slot,
        countries_created=countries_created,
        services_created=services_created,
        offers_created=result["created"],
        offers_updated=result["updated"],
        offers_unchanged=result["unchanged"],
        offers_zeroed=result["zeroed"],
        entries_skipped=result["skipped"],
        balance=balance,
        checked_at=checked_at,
        rents=bool(rents),
        rent_error=rent.error if rent is not None else "",
        **{f"rent_offers_{key}": rents[key] for key in ("created", "updated", "unchanged", "zeroed") if rents},
        rent_entries_skipped=rents.get("skipped", 0),
        emails=bool(mails),
        email_error=mail.error if mail is not None else "",
        **{f"email_offers_{key}": mails[key] for key in ("created", "updated", "unchanged", "zeroed") if mails},
        email_entries_skipped=mails.get("skipped", 0),
        operators=ops is not None and ops.prices is not None,
        operators_error=ops.error if ops is not None else "",
        **{f"operators_{key}": operators[key] for key in ("created", "seen", "removed", "skipped") if operators},
    )


def _translate(
    provider: Provider, *, native: bool, countries: list, services: list, entries: list
) -> tuple[list[PriceEntry], int]:
    """Price entries in the upstream's codes -> in ours, through the mapping tables.

    Native-code upstreams keep their codes unless an admin mapped one. For the others
    every upstream service and country gets a mapping row (the admin's to-do list,
    editable), matched to ours by name where the names agree; entries whose code is
    not mapped yet are left out; their number is returned beside the translated entries.
    """
    if not native:
        _ensure_mappings(
            ServiceMapping,
            provider,
            {s.code: s.name for s in services},
            {name.lower(): pk for pk, name in Service.objects.values_list("pk", "name")},
            "service",
        )
        _ensure_mappings(
            CountryMapping,
            provider,
            {str(c.id): c.name for c in countries},
            {name.lower(): pk for pk, name in Country.objects.values_list("pk", "name")},
            "country",
        )
    service_map = dict(
        ServiceMapping.objects.filter(provider=provider, service__isnull=False).values_list(
            "upstream_code", "service__code"
        )
    )
    country_map = {
        code: country_id
        for code, country_id in CountryMapping.objects.filter(provider=provider, country__isnull=False).values_list(
            "upstream_code", "country_id"
        )
    }
    translated = []
    for entry in entries:
        service = service_map.get(entry.service, entry.service if native else None)
        country = country_map.get(str(entry.country), entry.country if native else None)
        if service is not None and country is not None:
            translated.append(PriceEntry(country=country, service=service, cost=entry.cost, count=entry.count))
    return translated, len(entries) - len(translated)


def _ensure_mappings(
    model, provider: Provider, upstream: dict[str, str], ours_by_name: dict[str, int], field: str
) -> None:
    known = set(model.objects.filter(provider=provider).values_list("upstream_code", flat=True))
    model.objects.bulk_create(
        [
            model(
                provider=provider,
                upstream_code=code,
                upstream_name=name[:200],
                **{f"{field}_id": ours_by_name.get(name.strip().lower())},
            )
            for code, name in upstream.items()
            if code not in known
        ],
        ignore_conflicts=True,
        batch_size=BATCH_SIZE,
    )


def _upsert_offers(*, provider: Provider, entries: list) -> dict[str, int]:
    """Write only what changed: new and changed offers in batched INSERT ... ON CONFLICT DO UPDATE
    (safe against a concurrent sync), then stock 0 on this provider's offers missing from the list.
    `updated_at` is thus when the offer last changed."""
    countries = set(Country.objects.values_list("id", flat=True))
    services = dict(Service.objects.filter(code__in={e.service for e in entries}).values_list("code", "id"))
    wanted: dict[tuple[int, int], tuple[Decimal, int]] = {}
    skipped = 0
    for entry in entries:
        if entry.country not in countries or entry.service not in services:
            skipped += 1
            continue
        cost = Decimal(entry.cost).quantize(COST_QUANTUM, rounding=ROUND_CEILING)  # never under-price a cost
        wanted[(entry.country, services[entry.service])] = (cost, max(int(entry.count), 0))
    existing = {
        (country_id, service_id): (pk, cost, stock)
        for pk, country_id, service_id, cost, stock in Offer.objects.filter(provider=provider).values_list(
            "pk", "country_id", "service_id", "cost", "stock"
        )
    }
    changed = [key for key, value in wanted.items() if key not in existing or existing[key][1:] != value]
    now = timezone.now()
    Offer.objects.bulk_create(
        [
            Offer(provider_id=provider.pk, country_id=c, service_id=s, cost=wanted[(c, s)][0], stock=wanted[(c, s)][1])
            for c, s in changed
        ],
        update_conflicts=True,
        unique_fields=["provider", "country", "service"],
        update_fields=["cost", "stock", "updated_at"],
        batch_size=BATCH_SIZE,
    )
    gone = [pk for key, (pk, _, stock) in existing.items() if key not in wanted and stock != 0]
    for start in range(0, len(gone), BATCH_SIZE):
        Offer.objects.filter(pk__in=gone[start : start + BATCH_SIZE]).update(stock=0, updated_at=now)
    created = sum(1 for key in changed if key not in existing)
    return {
        "created": created,
        "updated": len(changed) - created,
        "unchanged": len(wanted) - len(changed),
        "zeroed": len(gone),
        "skipped": skipped,
    }
