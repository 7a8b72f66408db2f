import uuid

from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from accounts.errors import StaffAccount
from accounts.management.commands._common import get_customer_or_fail
from billing.errors import BillingError
from billing.money import InvalidAmount, format_pkr
from billing.selectors import wallet_available, wallet_of
from billing.services import wallet_topup


class Command(ActorCommand):
    help = "Credit a customer's wallet with a top-up (cash -> wallet)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("amount", help="PKR, e.g. 250 or 99.50")
        parser.add_argument("--note", default="", help="memo stored on the transfer")
        parser.add_argument("--key", help="idempotency key: running twice with the same key credits once")

    def handle(self, *args, username, amount, note, key, **options):
        try:
            wallet = wallet_of(get_customer_or_fail(username))
            outcome = wallet_topup(
                wallet=wallet,
                amount=amount,
                key=key or f"cli:topup:{uuid.uuid4()}",
                memo=note,
                actor=self.actor.user,
                actor_label=self.actor.label,
            )
        except (
            InvalidAmount,
            BillingError,
            StaffAccount,
        ) as exc:  # a bad amount, a reused key, past the ledger's range
            raise CommandError(str(exc)) from None
        wallet.refresh_from_db()
        verb = "already credited" if outcome.replayed else "credited"
        self.stdout.write(
            f"{verb} {format_pkr(outcome.transfer.amount)} PKR to {username} "
            f"(transfer #{outcome.transfer.pk}); available {format_pkr(wallet_available(wallet))} PKR"
        )
