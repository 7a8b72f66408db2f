"""Live activations in bulk, for scale tests and bench/sync.py: thousands without thousands of purchases.

The upstream side is made with the fake's `add_live`, ours with bulk_create: each activation
with an open hold of its price on the customer's wallet, and the wallet's cached `held` raised
by their sum (what `ledger_verify` checks), as `wallet_hold` would have left them.
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from billing.models import Hold, LedgerAccount
from billing.selectors import wallet_of
from reseller.models import Activation
from upstream.models import Country, Service

PRICE = Decimal("1.00")
COST = Decimal("0.50")


def make_live(customer, provider, fake, count: int, *, synced_ago: float | None, service="tg", country=22):
    """`count` live (waiting) activations bought from `provider` behind `fake`; `synced_ago`
    None: never synced. The customer's wallet must have `count` x PRICE available."""
    now = timezone.now()
    upstream = fake.add_live(count, service=service, country=country, cost=COST)
    wallet = wallet_of(customer)
    holds = Hold.objects.bulk_create(
        Hold(
            account=wallet,
            amount=PRICE,
            idempotency_key=f"bulk:{provider.slot}:{item.id}",
            expires_at=now + timedelta(seconds=1800),
            memo="bulk live activation",
        )
        for item in upstream
    )
    LedgerAccount.objects.filter(pk=wallet.pk).update(held=F("held") + PRICE * count)
    synced_at = None if synced_ago is None else now - timedelta(seconds=synced_ago)
    service_row, country_row = Service.objects.get(code=service), Country.objects.get(pk=country)
    return Activation.objects.bulk_create(
        Activation(
            customer=customer,
            provider=provider,
            service=service_row,
            country=country_row,
            state=Activation.State.ACTIVE,
            phone=item.phone,
            upstream_id=str(item.id),
            price=PRICE,
            cost=COST,
            cost_pkr=COST,
            hold=hold,
            activated_at=now,
            expires_at=now + timedelta(seconds=1200),
            synced_at=synced_at,
        )
        for item, hold in zip(upstream, holds, strict=True)
    )
