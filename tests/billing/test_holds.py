from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.errors import AccountBlocked
from accounts.services import customer_block
from billing.errors import HoldAlreadyResolved, HoldExpired, IdempotencyConflict, InsufficientFunds, InvalidAmount
from billing.models import Hold, LedgerAccount, Transfer
from billing.selectors import wallet_available, wallet_of
from billing.services import (
    hold_capture,
    hold_release,
    holds_release_expired,
    system_account,
    wallet_adjust,
    wallet_hold,
    wallet_topup,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    return wallet_of(customer)


def fresh(account: LedgerAccount) -> LedgerAccount:
    account.refresh_from_db()
    return account


def test_topup_credits_wallet_from_cash(wallet):
    outcome = wallet_topup(wallet=wallet, amount="25.50", key="t1", memo="bank transfer")
    assert not outcome.replayed
    assert fresh(wallet).balance == Decimal("125.50")
    assert outcome.transfer.source == system_account(LedgerAccount.Kind.CASH)
    assert outcome.transfer.destination_id == wallet.pk


def test_topup_is_idempotent_by_key(wallet):
    first = wallet_topup(wallet=wallet, amount="10", key="same")
    again = wallet_topup(wallet=wallet, amount="10.00", key="same")
    assert again.replayed and again.transfer.pk == first.transfer.pk
    assert fresh(wallet).balance == Decimal("110.00")
    with pytest.raises(IdempotencyConflict):
        wallet_topup(wallet=wallet, amount="11", key="same")


def test_hold_reduces_available_not_balance(wallet):
    outcome = wallet_hold(wallet=wallet, amount="30", key="h")
    wallet = fresh(wallet)
    assert (wallet.balance, wallet.held, wallet_available(wallet)) == (Decimal("100"), Decimal("30"), Decimal("70"))
    assert outcome.hold.status == Hold.Status.OPEN
    assert wallet_hold(wallet=wallet, amount="30", key="h").replayed
    assert fresh(wallet).held == Decimal("30")


def test_hold_beyond_available_is_refused(wallet):
    wallet_hold(wallet=wallet, amount="60", key="a")
    with pytest.raises(InsufficientFunds):
        wallet_hold(wallet=wallet, amount="40.01", key="b")
    assert not Hold.objects.filter(idempotency_key="b").exists()
    wallet_hold(wallet=wallet, amount="40", key="c")
    assert wallet_available(fresh(wallet)) == 0


def test_full_capture_moves_money_to_revenue(wallet):
    hold = wallet_hold(wallet=wallet, amount="40", key="h").hold
    transfer = hold_capture(hold=hold)
    assert transfer.amount == Decimal("40.00") and transfer.kind == Transfer.Kind.CAPTURE
    wallet = fresh(wallet)
    assert (wallet.balance, wallet.held) == (Decimal("60.00"), Decimal("0.00"))
    assert system_account(LedgerAccount.Kind.REVENUE).balance == Decimal("40.00")


def test_partial_capture_returns_the_remainder(wallet):
    hold = wallet_hold(wallet=wallet, amount="40", key="h").hold
    hold_capture(hold=hold, amount="25.00")
    wallet = fresh(wallet)
    assert (wallet.balance, wallet.held, wallet_available(wallet)) == (Decimal("75"), Decimal("0"), Decimal("75"))
    hold.refresh_from_db()
    assert (hold.status, hold.captured_amount) == (Hold.Status.CAPTURED, Decimal("25.00"))


def test_capture_more_than_held_is_refused(wallet):
    hold = wallet_hold(wallet=wallet, amount="40", key="h").hold
    with pytest.raises(ValueError):
        hold_capture(hold=hold, amount="40.01")
    hold.refresh_from_db()
    assert hold.status == Hold.Status.OPEN


def test_capture_after_expiry_is_refused_but_release_works(wallet):
    hold = wallet_hold(wallet=wallet, amount="40", key="h", expires_at=timezone.now() - timedelta(seconds=1)).hold
    with pytest.raises(HoldExpired):
        hold_capture(hold=hold)
    assert hold_release(hold=hold, reason="expired").already_released is False
    assert fresh(wallet).held == 0


def test_release_twice_is_a_noop_reported_as_already_released(wallet):
    hold = wallet_hold(wallet=wallet, amount="40", key="h").hold
    assert hold_release(hold=hold).already_released is False
    second = hold_release(hold=hold)
    assert second.already_released is True
    wallet = fresh(wallet)
    assert (wallet.balance, wallet.held) == (Decimal("100"), Decimal("0"))


def test_each_hold_resolves_once(wallet):
    hold = wallet_hold(wallet=wallet, amount="40", key="h").hold
    hold_release(hold=hold)
    with pytest.raises(HoldAlreadyResolved) as exc:
        hold_capture(hold=hold)
    assert exc.value.status == "released"
    other = wallet_hold(wallet=wallet, amount="10", key="h2").hold
    hold_capture(hold=other)
    with pytest.raises(HoldAlreadyResolved):
        hold_capture(hold=other)
    with pytest.raises(HoldAlreadyResolved):
        hold_release(hold=other)
    assert fresh(wallet).balance == Decimal("90")


@pytest.mark.parametrize(
    "amount",
    ["1.001", "-5", "0", "0.00", 1.5, "1e3", "NaN", "inf", "", " ", "12,50", "١٢", True, Decimal("1.001"), None, [1]],
)
def test_bad_amounts_are_rejected_everywhere(wallet, amount):
    with pytest.raises(InvalidAmount):
        wallet_topup(wallet=wallet, amount=amount, key="x")
    with pytest.raises(InvalidAmount):
        wallet_hold(wallet=wallet, amount=amount, key="y")
    hold = wallet_hold(wallet=wallet, amount="5", key="z").hold
    if amount is not None:  # None means "capture all"
        with pytest.raises(InvalidAmount):
            hold_capture(hold=hold, amount=amount)
    assert Transfer.objects.filter(kind=Transfer.Kind.CAPTURE).count() == 0


def test_good_amounts_are_accepted(wallet):
    for key, amount in (("a", "1"), ("b", "1.5"), ("c", "0.01"), ("d", 3), ("e", Decimal("2.50"))):
        wallet_topup(wallet=wallet, amount=amount, key=key)
    assert fresh(wallet).balance == Decimal("108.01")


def test_blocked_customer_cannot_hold(customer_with_key):
    customer, _ = customer_with_key(balance="50")
    customer_block(customer=customer, reason="chargeback")
    with pytest.raises(AccountBlocked):
        wallet_hold(wallet=wallet_of(customer), amount="1", key="h")
    assert customer.audit_events.filter(action="blocked", reason="chargeback").exists()


def test_adjust_needs_reason_and_cannot_overdraw(wallet):
    with pytest.raises(ValueError):
        wallet_adjust(wallet=wallet, amount="5", reason=" ", key="a")
    wallet_adjust(wallet=wallet, amount="-30", reason="duplicate top-up", key="b")
    assert fresh(wallet).balance == Decimal("70")
    wallet_hold(wallet=wallet, amount="60", key="h")
    with pytest.raises(InsufficientFunds):
        wallet_adjust(wallet=wallet, amount="-10.01", reason="too much", key="c")
    wallet_adjust(wallet=wallet, amount="12.34", reason="goodwill", key="d")
    assert fresh(wallet).balance == Decimal("82.34")


def test_sweeper_releases_only_expired_holds(wallet):
    past = timezone.now() - timedelta(seconds=5)
    expired = [wallet_hold(wallet=wallet, amount="10", key=f"e{i}", expires_at=past).hold for i in range(3)]
    live = wallet_hold(wallet=wallet, amount="10", key="live").hold
    assert holds_release_expired() == 3
    assert holds_release_expired() == 0
    assert all(Hold.objects.get(pk=h.pk).release_reason == "expired" for h in expired)
    assert Hold.objects.get(pk=live.pk).status == Hold.Status.OPEN
    assert fresh(wallet).held == Decimal("10")


def test_sweeper_task_runs_the_sweep(wallet):
    from billing.tasks import release_expired_holds

    wallet_hold(wallet=wallet, amount="10", key="e", expires_at=timezone.now() - timedelta(seconds=5))
    assert release_expired_holds.delay().get() == 1


def test_transfers_are_append_only(wallet):
    transfer = wallet_topup(wallet=wallet, amount="1", key="t").transfer
    with pytest.raises(ValueError):
        transfer.save()
    with pytest.raises(ValueError):
        transfer.delete()
    # The database refuses too (PostgreSQL trigger), whatever the application does.
    for sql in ("UPDATE billing_transfer SET amount = 2 WHERE id = %s", "DELETE FROM billing_transfer WHERE id = %s"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [transfer.pk])


def test_check_constraint_backstops_overspending(wallet):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.pk).update(held=F("balance") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.pk).update(balance=-1)
