"""Writes on customer accounts. Every change of state leaves an AuditEvent naming its actor: the
admin user, or for a management command its label `cli:<OS user>@<host>` (accounts/actors.py)."""

from django.db import transaction
from django.utils import timezone

from accounts.errors import StaffAccount
from accounts.keys import digest, generate_api_key
from accounts.models import AuditEvent, Customer


def _set_new_key(customer: Customer) -> str:
    key = generate_api_key()
    customer.api_key_digest = digest(key)
    customer.api_key_prefix = key[:4]
    customer.api_key_created_at = timezone.now()
    return key


def _required_reason(reason: str, what: str) -> str:
    if not reason or not reason.strip():
        raise ValueError(f"{what} needs a reason")
    return reason.strip()


@transaction.atomic
def customer_create(
    *,
    username: str,
    email: str = "",
    password: str | None = None,
    actor: Customer | None = None,
    actor_label: str = "",
) -> tuple[Customer, str]:
    """Create a customer with a fresh API key. Returns the customer and the key,
    which is shown this once and never stored."""
    customer = Customer(username=username, email=email)
    if password:
        customer.set_password(password)
    else:
        customer.set_unusable_password()
    key = _set_new_key(customer)
    customer.full_clean(exclude=["password"])
    customer.save()
    AuditEvent.objects.create(customer=customer, actor=actor, actor_label=actor_label, action=AuditEvent.Action.CREATED)
    return customer, key


@transaction.atomic
def customer_rotate_key(
    *, customer: Customer, actor: Customer | None = None, reason: str = "", actor_label: str = ""
) -> str:
    """Replace the customer's API key; the old one stops working at commit. Staff have no key."""
    if customer.is_staff_account:
        raise StaffAccount(f"{customer.username} is staff: staff users have no API key")
    key = _set_new_key(customer)
    customer.save(update_fields=["api_key_digest", "api_key_prefix", "api_key_created_at"])
    AuditEvent.objects.create(
        customer=customer, actor=actor, actor_label=actor_label, action=AuditEvent.Action.KEY_ROTATED, reason=reason
    )
    return key


@transaction.atomic
def customer_block(*, customer: Customer, reason: str, actor: Customer | None = None, actor_label: str = "") -> bool:
    """Block the customer. Returns False (and records nothing) if already blocked."""
    reason = _required_reason(reason, "blocking")
    updated = Customer.objects.filter(pk=customer.pk, is_blocked=False).update(
        is_blocked=True, blocked_reason=reason, blocked_at=timezone.now()
    )
    if updated:
        AuditEvent.objects.create(
            customer=customer, actor=actor, actor_label=actor_label, action=AuditEvent.Action.BLOCKED, reason=reason
        )
    customer.refresh_from_db(fields=["is_blocked", "blocked_reason", "blocked_at"])
    return bool(updated)


@transaction.atomic
def customer_unblock(*, customer: Customer, reason: str, actor: Customer | None = None, actor_label: str = "") -> bool:
    """Unblock the customer, for a reason (like blocking). Returns False (and records nothing) if not blocked."""
    reason = _required_reason(reason, "unblocking")
    updated = Customer.objects.filter(pk=customer.pk, is_blocked=True).update(
        is_blocked=False, blocked_reason="", blocked_at=None
    )
    if updated:
        AuditEvent.objects.create(
            customer=customer, actor=actor, actor_label=actor_label, action=AuditEvent.Action.UNBLOCKED, reason=reason
        )
    customer.refresh_from_db(fields=["is_blocked", "blocked_reason", "blocked_at"])
    return bool(updated)
