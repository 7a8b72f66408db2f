from django.core.management.base import BaseCommand

from accounts.management.commands._common import get_customer_or_fail
from accounts.services import customer_block


class Command(BaseCommand):
    help = "Block a customer: every API call answers ACCOUNT_BLOCKED and nothing can be spent."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", default="blocked by operator")

    def handle(self, *args, username, reason, **options):
        customer = get_customer_or_fail(username)
        if customer_block(customer=customer, reason=reason):
            self.stdout.write(f"blocked {username}: {reason}")
        else:
            self.stdout.write(f"{username} was already blocked ({customer.blocked_reason})")
