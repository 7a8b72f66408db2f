from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._common import get_customer_or_fail
from billing.models import MarkupRule
from billing.pricing import EXAMPLE_COST, rule_label, rule_quote, scope_for_targets
from billing.services import markup_set

# A command is an entry point, not library code: it may resolve upstream's slots and codes to ids.
from upstream.models import Country, Provider, Service


def _resolve(*, provider: int | None, country: int | None, service: str | None) -> dict[str, int | None]:
    ids: dict[str, int | None] = {"provider_id": None, "country_id": None, "service_id": None}
    if provider is not None:
        found = Provider.objects.filter(slot=provider).values_list("pk", flat=True).first()
        if found is None:
            raise CommandError(f"no provider in slot {provider}")
        ids["provider_id"] = found
    if country is not None:
        if not Country.objects.filter(pk=country).exists():
            raise CommandError(f"no country with number {country} (SMS-Activate numbering, e.g. 22 India)")
        ids["country_id"] = country
    if service is not None:
        found = Service.objects.filter(code=service).values_list("pk", flat=True).first()
        if found is None:
            raise CommandError(f"no service with code {service!r} (SMS-Activate short code, e.g. wa)")
        ids["service_id"] = found
    return ids


class Command(BaseCommand):
    help = (
        "Create or update the markup rule for exactly the given targets (none: the global rule). "
        "The scope is the most specific target given: customer > service > country > provider. "
        "Options left out keep the rule's current value (the default for a new rule)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--percent",
            required=True,
            metavar="P",
            help="%% added to the cost, e.g. 20 or 12.50 (negative: a discount)",
        )
        parser.add_argument("--fixed", metavar="PKR", help="PKR added after the percentage (default 0)")
        parser.add_argument("--min-margin", metavar="PKR", help="the price is at least cost + this, PKR (default 0)")
        parser.add_argument(
            "--round-to", metavar="PKR", help="round the price up to a multiple of this, PKR (default 0.01)"
        )
        parser.add_argument("--provider", type=int, metavar="SLOT", help="provider slot 1-6")
        parser.add_argument("--country", type=int, metavar="N", help="SMS-Activate country number, e.g. 22")
        parser.add_argument("--service", metavar="CODE", help="SMS-Activate service code, e.g. wa")
        parser.add_argument("--customer", metavar="USERNAME")
        parser.add_argument(
            "--note", default="", metavar="TEXT", help="kept on the rule (left out: the current note stays)"
        )

    def handle(self, *args, percent, fixed, min_margin, round_to, provider, country, service, customer, note, **opts):
        ids = _resolve(provider=provider, country=country, service=service)
        ids["customer_id"] = get_customer_or_fail(customer).pk if customer is not None else None
        scope = scope_for_targets(**ids)
        existed = MarkupRule.objects.filter(scope=scope, **ids).exists()
        try:
            rule = markup_set(
                scope=scope, percent=percent, fixed=fixed, min_margin=min_margin, round_to=round_to, note=note, **ids
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{'updated' if existed else 'created'} {scope} rule #{rule.pk} ({rule_label(rule)}): "
            f"{rule.percent:+.2f}% {rule.fixed:+.2f} PKR, min margin {rule.min_margin}, round to {rule.round_to}"
            + (f", note {rule.note!r}" if rule.note else "")
        )
        example = rule_quote(rule=rule, cost_pkr=EXAMPLE_COST)
        self.stdout.write(f"example: {example.explanation}")
