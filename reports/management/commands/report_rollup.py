"""`report_rollup [--from YYYY-MM-DD] [--to YYYY-MM-DD]`: rebuild the reports' daily rollup
from the ledger (default: every day from the first posting to today). Idempotent."""

import time

from django.core.management.base import BaseCommand, CommandError

from reports.cli import option_day
from reports.rollup import rollup_range


class Command(BaseCommand):
    help = "Rebuild the daily rollup of the financial reports from the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="default: the first posting")
        parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="default: today")

    def handle(self, *args, date_from, date_to, **options):
        first, last = option_day("from", date_from, required=False), option_day("to", date_to, required=False)
        if first and last and first > last:
            raise CommandError(f"--from {first} is after --to {last}")
        started = time.monotonic()
        days = rollup_range(first, last)
        self.stdout.write(f"report_rollup: {days} day(s) recomputed in {time.monotonic() - started:.1f} s")
