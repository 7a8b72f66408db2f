"""markup_set lives in upstream, not billing: it names providers by slot and services by code, which
billing does not know (billing stores ids; upstream may import billing, never the reverse)."""

from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from accounts.management.commands._common import get_customer_or_fail
from billing.models import MarkupRule
from billing.pricing import EXAMPLE_COST, rule_label, rule_quote, scope_for_targets
from billing.services import markup_set
from upstream.markup import UnknownTarget, rule_targets


class Command(ActorCommand):
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
            "--product",
            choices=["rental", "email"],
            default="",
            help="rental / email: a rule for rentals or e-mails only (their orders are priced by it first)",
        )
        parser.add_argument(
            "--note", default="", metavar="TEXT", help="kept on the rule (left out: the current note stays)"
        )

    def handle(
        self, *args, percent, fixed, min_margin, round_to, provider, country, service, customer, note, product, **opts
    ):
        try:  # the slot, country number and service code an operator types, as the ids billing stores
            ids = rule_targets(provider=provider, country=country, service=service)
        except UnknownTarget as exc:
            raise CommandError(str(exc)) from None
        ids["customer_id"] = get_customer_or_fail(customer).pk if customer is not None else None
        scope = scope_for_targets(**ids)
        existed = MarkupRule.objects.filter(scope=scope, product=product, **ids).exists()
        try:
            rule = markup_set(
                scope=scope,
                percent=percent,
                fixed=fixed,
                min_margin=min_margin,
                round_to=round_to,
                note=note,
                product=product,
                **ids,
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
