from django.core.management.base import BaseCommand

from accounts.management.commands._common import get_customer_or_fail
from accounts.services import customer_unblock


class Command(BaseCommand):
    help = "Unblock a customer."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", default="")

    def handle(self, *args, username, reason, **options):
        customer = get_customer_or_fail(username)
        if customer_unblock(customer=customer, reason=reason):
            self.stdout.write(f"unblocked {username}")
        else:
            self.stdout.write(f"{username} was not blocked")
