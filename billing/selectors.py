from decimal import Decimal

from accounts.models import Customer
from billing.models import LedgerAccount
from billing.money import ZERO


def wallet_of(customer: Customer) -> LedgerAccount:
    return LedgerAccount.objects.get(customer=customer)


def wallet_available(wallet: LedgerAccount | None) -> Decimal:
    """What the customer can spend: wallet balance minus open holds."""
    if wallet is None:
        return ZERO
    return wallet.balance - wallet.held
