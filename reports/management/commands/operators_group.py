from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from reports.operators import GROUP, operators_group_sync


class Command(BaseCommand):
    help = (
        'Create the "operators" group or bring its permissions up to date: read reports, orders, ledger, '
        "providers, offers and customers, change nothing (docs/operators-guide.md). Migrate does it too. "
        "--add USERNAME makes that user staff and an operator."
    )

    def add_arguments(self, parser):
        parser.add_argument("--add", action="append", default=[], metavar="USERNAME", help="repeatable")

    def handle(self, *args, **options):
        users = []
        for name in options["add"]:
            try:
                users.append(Customer.objects.get(username=name))
            except Customer.DoesNotExist:
                raise CommandError(f"no user {name!r}") from None
        group, created, count = operators_group_sync()
        verb = "created" if created else "updated"
        self.stdout.write(f'group "{GROUP}" {verb}: {count} permissions (view only, and reports.view_reports)')
        for user in users:
            if not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            user.groups.add(group)
            note = " (a superuser: every permission anyway)" if user.is_superuser else ""
            self.stdout.write(f"{user.username} is staff and an operator{note}")
