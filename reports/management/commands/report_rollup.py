"""`report_rollup [--from YYYY-MM-DD] [--to YYYY-MM-DD]`: rebuild the reports' daily rollup
from the ledger (default: every day from the first posting to today). Idempotent."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from reports.rollup import rollup_range


def _day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name} {value!r} is not a date: use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Rebuild the daily rollup of the financial reports from the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="default: the first posting")
        parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="default: today")

    def handle(self, *args, date_from, date_to, **options):
        first, last = _day("from", date_from), _day("to", date_to)
        if first and last and first > last:
            raise CommandError(f"--from {first} is after --to {last}")
        started = time.monotonic()
        days = rollup_range(first, last)
        self.stdout.write(f"report_rollup: {days} day(s) recomputed in {time.monotonic() - started:.1f} s")
