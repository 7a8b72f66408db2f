from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from accounts.errors import StaffAccount
from accounts.management.commands._common import get_customer_or_fail
from accounts.services import customer_rotate_key


class Command(ActorCommand):
    help = "Give a customer a new API key (the old one stops working). Prints the key on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", default="rotated by command")

    def handle(self, *args, username, reason, **options):
        try:
            key = customer_rotate_key(
                customer=get_customer_or_fail(username),
                reason=reason,
                actor=self.actor.user,
                actor_label=self.actor.label,
            )
        except StaffAccount as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"new API key for {username} (shown once):")
        self.stdout.write(key)
