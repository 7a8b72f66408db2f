from accounts.errors import AccountBlocked
from accounts.models import Customer
from accounts.selectors import customer_by_api_key
from reseller.protocol.errors import BadKey


def authenticate(api_key: str | None) -> Customer:
    """The customer behind `api_key`, with its wallet, in one query.

    Raises BadKey for a missing/unknown key, AccountBlocked for a blocked or
    inactive customer.
    """
    customer = customer_by_api_key(api_key, select_related=("wallet",))
    if customer is None:
        raise BadKey()
    if customer.is_blocked or not customer.is_active:
        raise AccountBlocked()
    return customer
