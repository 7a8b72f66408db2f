from django.core.management.base import BaseCommand

from accounts.management.commands._common import get_customer_or_fail
from accounts.services import customer_rotate_key


class Command(BaseCommand):
    help = "Give a customer a new API key (the old one stops working). Prints the key on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        key = customer_rotate_key(customer=get_customer_or_fail(username))
        self.stdout.write(f"new API key for {username} (shown once):")
        self.stdout.write(key)
