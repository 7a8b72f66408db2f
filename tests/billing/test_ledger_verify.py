from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.models import Hold, LedgerAccount
from billing.selectors import wallet_of
from billing.services import hold_capture, wallet_hold, wallet_topup
from billing.verify import ledger_verify

pytestmark = [pytest.mark.django_db, pytest.mark.ledger_dirty]


@pytest.fixture
def wallet(customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    return wallet_of(customer)


def test_clean_ledger_passes_and_command_exits_zero(wallet):
    hold_capture(hold=wallet_hold(wallet=wallet, amount="10", key="h").hold, amount="4")
    out = StringIO()
    call_command("ledger_verify", stdout=out)
    assert out.getvalue().startswith("ledger_verify: OK")


def test_corrupted_cached_balance_is_reported(wallet):
    LedgerAccount.objects.filter(pk=wallet.pk).update(balance=150)
    report = ledger_verify()
    checks = {v.check for v in report.violations}
    assert {"balance", "zero-sum"} <= checks
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("ledger_verify", stderr=err)
    assert "cached balance 150.00 != transfers 100.00" in err.getvalue()


def test_corrupted_held_is_reported(wallet):
    wallet_hold(wallet=wallet, amount="10", key="h")
    LedgerAccount.objects.filter(pk=wallet.pk).update(held=0)
    assert [v.check for v in ledger_verify().violations] == ["held"]


def test_forgotten_open_hold_is_reported(wallet):
    wallet_hold(wallet=wallet, amount="10", key="h", expires_at=timezone.now() - timedelta(hours=2))
    assert [v.check for v in ledger_verify().violations] == ["hold-expiry"]


def test_captured_hold_without_transfer_is_reported(wallet):
    hold = wallet_hold(wallet=wallet, amount="10", key="h").hold
    Hold.objects.filter(pk=hold.pk).update(status="captured", captured_amount=10, resolved_at=timezone.now())
    checks = [v.check for v in ledger_verify().violations]
    assert "hold" in checks


def test_wrong_transfer_shape_is_reported(wallet, customer_with_key):
    other = wallet_of(customer_with_key()[0])
    from billing.models import Transfer
    from billing.services import transfer_post

    transfer_post(source=wallet, destination=other, amount="1", kind=Transfer.Kind.TOPUP, key="odd")
    assert [v.check for v in ledger_verify().violations] == ["transfer-shape"]


def test_topup_then_verify_via_command_output_counts(wallet):
    wallet_topup(wallet=wallet, amount="1", key="k")
    out = StringIO()
    call_command("ledger_verify", stdout=out)
    assert "2 transfers" in out.getvalue()


def test_money_of_an_order_that_does_not_name_it_is_reported(wallet):
    from billing.models import OrderRef, Transfer
    from billing.services import provider_float_account, system_account, transfer_post

    hold = wallet_hold(wallet=wallet, amount="10", key="h", order=OrderRef("cheap", 7)).hold
    capture = hold_capture(hold=hold)
    assert (capture.order_kind, capture.order_pk) == ("cheap", 7)
    assert ledger_verify().ok
    transfer_post(
        source=provider_float_account(provider_id=1, name="p"),
        destination=system_account(LedgerAccount.Kind.UPSTREAM_COST),
        amount="3",
        kind=Transfer.Kind.UPSTREAM_COST,
        key="cost-without-order",
    )
    details = [v.detail for v in ledger_verify().violations if v.check == "order-ref"]
    assert details == [
        f"transfer #{Transfer.objects.get(idempotency_key='cost-without-order').pk} (upstream_cost) names no order"
    ]
