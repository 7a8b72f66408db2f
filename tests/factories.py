import uuid

import factory

from accounts.models import Customer
from accounts.services import customer_create
from billing.selectors import wallet_of
from billing.services import wallet_topup


class CustomerFactory(factory.django.DjangoModelFactory):
    """Plain customers (no key). `create_with_key` goes through the real service."""

    class Meta:
        model = Customer
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"customer{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")

    @classmethod
    def create_with_key(cls, *, balance: str | None = None, username: str | None = None, **kwargs):
        username = username or f"cust-{uuid.uuid4().hex[:10]}"
        customer, key = customer_create(username=username, **kwargs)
        if balance is not None:
            wallet_topup(wallet=wallet_of(customer), amount=balance, key=f"test:topup:{uuid.uuid4()}")
        customer.refresh_from_db()
        return customer, key
