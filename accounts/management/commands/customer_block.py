from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from accounts.management.commands._common import get_customer_or_fail
from accounts.services import customer_block


class Command(ActorCommand):
    help = "Block a customer: every API call answers ACCOUNT_BLOCKED and nothing can be spent."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", default="blocked by operator")

    def handle(self, *args, username, reason, **options):
        customer = get_customer_or_fail(username)
        try:
            blocked = customer_block(
                customer=customer, reason=reason, actor=self.actor.user, actor_label=self.actor.label
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if blocked:
            self.stdout.write(f"blocked {username}: {reason}")
        else:
            self.stdout.write(f"{username} was already blocked ({customer.blocked_reason})")
