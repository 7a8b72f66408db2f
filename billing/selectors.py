from decimal import Decimal

from accounts.models import Customer
from billing.models import Hold, LedgerAccount, Transfer
from billing.money import ZERO


def wallet_of(customer: Customer) -> LedgerAccount:
    return LedgerAccount.objects.get(customer=customer)


def wallet_available(wallet: LedgerAccount | None) -> Decimal:
    """What the customer can spend: wallet balance minus open holds."""
    if wallet is None:
        return ZERO
    return wallet.balance - wallet.held


def account_transfers(account: LedgerAccount):
    return Transfer.objects.filter(source=account).union(Transfer.objects.filter(destination=account)).order_by("-id")


def account_open_holds(account: LedgerAccount):
    return Hold.objects.filter(account=account, status=Hold.Status.OPEN).order_by("expires_at")
