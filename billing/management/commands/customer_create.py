from django.core.management.base import CommandError
from django.db import transaction

from accounts.actors import ActorCommand
from accounts.selectors import customer_get
from accounts.services import customer_create
from billing.errors import BillingError
from billing.money import InvalidAmount, format_pkr, parse_amount
from billing.selectors import wallet_available, wallet_of
from billing.services import wallet_topup


class Command(ActorCommand):
    help = "Create a customer with an API key (printed alone on the last line) and an optional opening balance."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--balance", help="opening balance in PKR, e.g. 500.00 (a top-up)")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, balance, email, **options):
        if customer_get(username=username) is not None:
            raise CommandError(f"customer {username!r} already exists (use customer_rotate_key for a new key)")
        try:
            amount = parse_amount(balance) if balance is not None else None
        except InvalidAmount as exc:
            raise CommandError(str(exc)) from None
        try:
            with transaction.atomic():
                customer, key = customer_create(
                    username=username, email=email, actor=self.actor.user, actor_label=self.actor.label
                )
                if amount is not None:
                    wallet_topup(
                        wallet=wallet_of(customer),
                        amount=amount,
                        key=f"customer_create:{customer.pk}:opening",
                        memo="opening balance",
                        actor=self.actor.user,
                        actor_label=self.actor.label,
                    )
        except BillingError as exc:  # e.g. past the ledger's range: nothing is created
            raise CommandError(f"{exc}; customer {username!r} not created") from None
        balance_text = format_pkr(wallet_available(wallet_of(customer)))
        self.stdout.write(f"created customer {username} with balance {balance_text} PKR; API key (shown once):")
        self.stdout.write(key)
