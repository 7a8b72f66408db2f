"""Races with real threads, each on its own PostgreSQL connection."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from billing.errors import HoldAlreadyResolved, InsufficientFunds
from billing.models import Hold, LedgerAccount, Transfer
from billing.selectors import wallet_available, wallet_of
from billing.services import hold_capture, hold_release, wallet_hold, wallet_topup
from billing.verify import ledger_verify

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(n: int, work) -> list:
    """Run work(i) in n threads released at the same instant; return results/exceptions."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def target(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_fifty_holds_on_a_wallet_funded_for_seven(customer_with_key):
    customer, _ = customer_with_key(balance="70.00")
    wallet = wallet_of(customer)

    results = run_concurrently(50, lambda i: wallet_hold(wallet=wallet, amount="10.00", key=f"race:{i}"))

    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 7
    assert len(lost) == 43 and all(isinstance(e, InsufficientFunds) for e in lost)
    wallet.refresh_from_db()
    assert wallet_available(wallet) == Decimal("0.00")
    assert (wallet.balance, wallet.held) == (Decimal("70.00"), Decimal("70.00"))
    assert Hold.objects.filter(account=wallet, status=Hold.Status.OPEN).count() == 7
    assert ledger_verify().ok


def test_ten_captures_and_releases_on_one_hold_one_wins(customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    wallet = wallet_of(customer)
    hold = wallet_hold(wallet=wallet, amount="40.00", key="contested").hold

    def attempt(i):
        if i % 2:
            return ("capture", hold_capture(hold=hold, amount="30.00"))
        return ("release", hold_release(hold=hold))

    results = run_concurrently(10, attempt)

    winners = [r for r in results if isinstance(r, tuple) and (r[0] == "capture" or not r[1].already_released)]
    assert len(winners) == 1, results
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, HoldAlreadyResolved) for e in errors), errors
    hold.refresh_from_db()
    wallet.refresh_from_db()
    assert wallet.held == 0
    if winners[0][0] == "capture":
        assert hold.status == Hold.Status.CAPTURED and wallet.balance == Decimal("70.00")
        assert Transfer.objects.filter(hold=hold).count() == 1
    else:
        assert hold.status == Hold.Status.RELEASED and wallet.balance == Decimal("100.00")
        assert not Transfer.objects.filter(hold=hold).exists()
    assert ledger_verify().ok


def test_same_topup_key_from_many_threads_credits_once(customer_with_key):
    customer, _ = customer_with_key(balance="0.01")
    wallet = wallet_of(customer)

    results = run_concurrently(10, lambda i: wallet_topup(wallet=wallet, amount="5.00", key="one-payment"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(r.replayed for r in results) == Counter({True: 9, False: 1})
    assert len({r.transfer.pk for r in results}) == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("5.01")
    assert ledger_verify().ok


def test_concurrent_spends_and_topups_on_shared_accounts_never_deadlock(customer_with_key):
    """Captures (wallet -> revenue) and top-ups (cash -> wallet) across several
    wallets at once: all succeed, and every balance adds up."""
    wallets = [wallet_of(customer_with_key(balance="100.00")[0]) for _ in range(4)]
    holds = [
        wallet_hold(wallet=w, amount="10.00", key=f"h{i}-{j}").hold for i, w in enumerate(wallets) for j in range(5)
    ]

    def work(i):
        if i < len(holds):
            return hold_capture(hold=holds[i])
        w = wallets[i % len(wallets)]
        return wallet_topup(wallet=w, amount="1.00", key=f"top-{i}")

    results = run_concurrently(len(holds) + 20, work)

    assert not [r for r in results if isinstance(r, Exception)], results
    revenue = LedgerAccount.objects.get(code="revenue")
    assert revenue.balance == Decimal("200.00")
    for w in wallets:
        w.refresh_from_db()
        assert w.balance == Decimal("55.00") and w.held == 0
    assert ledger_verify().ok


def test_concurrent_markup_set_for_one_combination_leaves_one_rule():
    """No row of billing's exists to lock before the rule does: an advisory lock serializes them."""
    from billing.models import MarkupRule
    from billing.services import markup_set
    from upstream.models import Country, Service

    wa = Service.objects.create(code="wa", name="Whatsapp")
    Country.objects.create(id=22, name="India")
    results = run_concurrently(
        10, lambda i: markup_set(scope="service", service_id=wa.pk, country_id=22, percent=str(10 + i))
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert MarkupRule.objects.filter(scope="service").count() == 1 and len({r.pk for r in results}) == 1
    missing = run_concurrently(2, lambda i: markup_set(scope="service", service_id=wa.pk + 1000, percent="5"))
    assert all(isinstance(r, ValueError) and "no service with id" in str(r) for r in missing)
    assert MarkupRule.objects.count() == 1
