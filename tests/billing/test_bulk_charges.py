"""billing.bulk.charges_post on its own: what it refuses (BulkRefused, the caller then goes one by
one) leaves the caller's transaction to roll back with nothing half booked."""

from decimal import Decimal

import pytest
from django.db import transaction

from billing.bulk import BulkRefused, Charge, charges_post
from billing.models import Hold, LedgerAccount, OrderRef, Transfer
from billing.selectors import wallet_of
from billing.services import system_account, wallet_hold

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    wallet = wallet_of(customer)
    holds = [
        wallet_hold(wallet=wallet, amount="10.00", key=f"h{i}", order=OrderRef("activation", i)).hold for i in (1, 2)
    ]
    return wallet, holds


def charges(holds) -> list[Charge]:
    return [
        Charge(hold_id=h.pk, order=OrderRef("activation", h.order_pk), memo=f"activation #{h.order_pk}") for h in holds
    ]


def test_open_holds_are_captured_whole(held):
    wallet, holds = held
    assert charges_post(charges(holds)) == 2
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (Decimal("80.00"), Decimal("0.00"))
    assert system_account(LedgerAccount.Kind.REVENUE).balance == Decimal("20.00")
    assert set(Hold.objects.values_list("status", flat=True)) == {"captured"}


@pytest.mark.ledger_dirty  # the stray transfer is booked without its balances, on purpose
def test_a_capture_key_already_booked_for_an_open_hold_is_refused_not_taken_for_a_replay(held):
    """A transfer under an open hold's capture key (of the same shape) cannot be an earlier run of
    this capture (that would have closed the hold): counting it as a replay would close the hold and
    leave its amount held in the wallet for ever."""
    wallet, holds = held
    revenue = system_account(LedgerAccount.Kind.REVENUE)
    Transfer.objects.create(
        source=wallet,
        destination=revenue,
        amount=Decimal("10.00"),
        kind="capture",
        idempotency_key=f"hold:{holds[1].pk}:capture",
    )
    with pytest.raises(BulkRefused, match="capture"), transaction.atomic():
        charges_post(charges(holds))
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (Decimal("100.00"), Decimal("20.00"))  # rolled back whole
    assert set(Hold.objects.values_list("status", flat=True)) == {"open"}
