from decimal import Decimal

from accounts.models import Customer
from billing.models import LedgerAccount
from billing.money import ZERO


def wallet_of(customer: Customer) -> LedgerAccount:
    """The customer's wallet. A customer without one (e.g. a former staff user) gets it on demand;
    a staff user without one raises StaffAccount (staff have no wallet)."""
    wallet = LedgerAccount.objects.filter(customer=customer).first()
    if wallet is None:
        from billing.services import wallet_create

        wallet = wallet_create(customer=customer)
    return wallet


def wallet_available(wallet: LedgerAccount | None) -> Decimal:
    """What the customer can spend: wallet balance minus open holds."""
    if wallet is None:
        return ZERO
    return wallet.balance - wallet.held
