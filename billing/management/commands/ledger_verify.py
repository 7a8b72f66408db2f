from django.core.management.base import BaseCommand, CommandError

from billing.verify import ledger_verify


class Command(BaseCommand):
    help = "Check every ledger invariant; exits non-zero with a report on any violation."

    def handle(self, *args, **options):
        report = ledger_verify()
        if not report.ok:
            self.stderr.write(report.render())
            raise CommandError(f"{len(report.violations)} ledger invariant violation(s)")
        self.stdout.write(report.render())
