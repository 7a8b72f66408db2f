from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from accounts.management.commands._common import get_customer_or_fail
from accounts.services import customer_unblock


class Command(ActorCommand):
    help = "Unblock a customer, for a reason (recorded with who ran it)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="why the customer may use the API again")

    def handle(self, *args, username, reason, **options):
        customer = get_customer_or_fail(username)
        try:
            unblocked = customer_unblock(
                customer=customer, reason=reason, actor=self.actor.user, actor_label=self.actor.label
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if unblocked:
            self.stdout.write(f"unblocked {username}: {reason}")
        else:
            self.stdout.write(f"{username} was not blocked")
