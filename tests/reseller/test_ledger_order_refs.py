"""Every hold and transfer of an order names it (kind, id): written by the order core, and
backfilled by migration 0004 for rows written before."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from billing.models import Hold, Transfer
from tests.reseller.conftest import deliver_sms

pytestmark = pytest.mark.django_db


def test_an_activations_money_names_it(sandbox, api, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    reply = api(key, "getNumber", service="tg", country="22")
    activation_id = int(reply.split(":")[1])
    from reseller.models import Activation

    deliver_sms(Activation.objects.get(pk=activation_id))
    hold = Hold.objects.get()
    assert (hold.order_kind, hold.order_pk) == ("activation", activation_id)
    kinds = dict(Transfer.objects.filter(order_kind="activation", order_pk=activation_id).values_list("kind", "amount"))
    assert set(kinds) == {"capture", "upstream_cost"}
    assert not Transfer.objects.filter(order_kind="").exclude(kind="topup").exists()


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_the_references_of_older_rows():
    executor = MigrationExecutor(connection)
    before = [("billing", "0003_markup_rules_upstream_cost"), ("reseller", "0004_upstream_orphans")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Customer = old.get_model("accounts", "Customer")
    Account = old.get_model("billing", "LedgerAccount")
    OldHold, OldTransfer = old.get_model("billing", "Hold"), old.get_model("billing", "Transfer")
    owner = Customer.objects.create(username="old-rows")
    # A consistent ledger of that time: a top-up, a captured hold, a loss (cached balances match).
    cash = Account.objects.create(code="c-old", kind="cash", allow_negative=True, balance=Decimal("-60"))
    wallet = Account.objects.create(code="w-old", kind="wallet", customer_id=owner.pk, balance=Decimal("50"))
    revenue = Account.objects.create(code="r-old", kind="revenue", balance=Decimal("10"))
    float_ = Account.objects.create(code="f-old", kind="provider_float", allow_negative=True, balance=Decimal("-3"))
    losses = Account.objects.create(code="l-old", kind="losses", balance=Decimal("3"))
    now = timezone.now()
    hold = OldHold.objects.create(
        account=wallet,
        amount=Decimal("10"),
        status="captured",
        captured_amount=Decimal("10"),
        idempotency_key="activation:41:hold:0",
        expires_at=now + timedelta(hours=1),
        resolved_at=now,
    )
    OldTransfer.objects.create(
        source=wallet, destination=revenue, amount=Decimal("10"), kind="capture", idempotency_key="hold:x", hold=hold
    )
    OldTransfer.objects.create(
        source=float_, destination=losses, amount=Decimal("3"), kind="loss", idempotency_key="activation:41:loss"
    )
    OldTransfer.objects.create(
        source=cash, destination=wallet, amount=Decimal("60"), kind="topup", idempotency_key="topup:1"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Hold.objects.values_list("order_kind", "order_pk").get() == ("activation", 41)
    refs = dict(Transfer.objects.values_list("idempotency_key", "order_pk"))
    assert refs == {"hold:x": 41, "activation:41:loss": 41, "topup:1": None}
    with pytest.raises(Exception, match="append-only"):  # the trigger is back on
        Transfer.objects.filter(idempotency_key="topup:1").update(memo="changed")
