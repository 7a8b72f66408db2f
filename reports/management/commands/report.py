"""`report --from YYYY-MM-DD --to YYYY-MM-DD --by day|week|month|service|country|provider|customer|kind
[--kind K] [--format table|csv] [--service ID] [--country ID] [--provider ID] [--customer ID|NAME]`:
the figures of the admin's report page, for scripts (docs/reports.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from accounts.models import Customer
from reports.cli import option_day
from reports.export import csv_text, table_text
from reports.figures import FILTERS, GROUPINGS, KINDS, SOURCES, ReportError, report


class Command(BaseCommand):
    help = "Print the financial report of a date range (the admin's report page), as a table or CSV."

    def add_arguments(self, parser):
        # Validated in handle(), so every mistake is one line (argparse would print its usage).
        parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day (inclusive)")
        parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day (inclusive)")
        parser.add_argument("--by", help="|".join(GROUPINGS))
        parser.add_argument("--kind", help=f"only one order kind: {'|'.join(KINDS)}")
        parser.add_argument("--format", dest="fmt", default="table", help="table (default) or csv")
        parser.add_argument("--source", default="auto", help="|".join(SOURCES) + " (default auto)")
        for name in FILTERS:
            parser.add_argument(f"--{name}", help=f"only this {name} (id{', or username' * (name == 'customer')})")

    def handle(self, *args, date_from, date_to, by, kind, fmt, source, **options):
        first, last = option_day("from", date_from, required=True), option_day("to", date_to, required=True)
        if not by:
            raise CommandError(f"--by is required: {'|'.join(GROUPINGS)}")
        if fmt not in ("table", "csv"):
            raise CommandError(f"--format must be table or csv, got {fmt!r}")
        filters = {name: options[name] for name in FILTERS if options.get(name)}
        customer = filters.get("customer")
        if customer and not str(customer).isdigit():
            found = Customer.objects.filter(username=customer).values_list("pk", flat=True).first()
            if found is None:
                raise CommandError(f"no customer {customer!r}")
            filters["customer"] = found
        try:
            result = report(date_from=first, date_to=last, by=by, kind=kind, filters=filters, source=source)
        except ReportError as exc:
            raise CommandError(str(exc)) from None
        except OperationalError as exc:  # e.g. a year from the ledger past DB_STATEMENT_TIMEOUT_MS
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CommandError(
                f"the database refused the report ({first_line}); a long range reads the rollup: "
                "run report_rollup, then --source auto"
            ) from None
        self.stdout.write(csv_text(result) if fmt == "csv" else table_text(result), ending="")
