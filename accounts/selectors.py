from collections.abc import Sequence

from accounts.keys import digest, is_well_formed
from accounts.models import AuditEvent, Customer


def customer_by_api_key(raw_key: object, *, select_related: Sequence[str] = ()) -> Customer | None:
    """The authoritative API-key lookup, used by every endpoint.

    Returns the customer owning the key, blocked or not (callers decide what a
    block means for them), or None. A value that is not a 32-character
    alphanumeric string is rejected without touching the database.
    `select_related` lets a caller fetch related rows (the wallet) in the same query.
    """
    if not is_well_formed(raw_key):
        return None
    qs = Customer.objects.filter(api_key_digest=digest(raw_key))
    if select_related:
        qs = qs.select_related(*select_related)
    return qs.first()


def customer_get(*, username: str) -> Customer | None:
    return Customer.objects.filter(username=username).first()


def customer_audit_events(*, customer: Customer):
    return AuditEvent.objects.filter(customer=customer).select_related("actor")
