from django.core.management.base import BaseCommand

from reports.operators import GROUP, operators_group_sync


class Command(BaseCommand):
    help = (
        'Create the "operators" group or bring its permissions up to date: read reports, orders, ledger, '
        "providers, offers and customers, change nothing (docs/operators-guide.md). Migrate does it too."
    )

    def handle(self, *args, **options):
        group, created, count = operators_group_sync()
        verb = "created" if created else "updated"
        self.stdout.write(f'group "{GROUP}" {verb}: {count} permissions (view only, and reports.view_reports)')
