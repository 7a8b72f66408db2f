from django.core.management.base import CommandError

from accounts.models import Customer
from accounts.selectors import customer_get


def get_customer_or_fail(username: str) -> Customer:
    customer = customer_get(username=username)
    if customer is None:
        raise CommandError(f"no customer named {username!r}")
    return customer
