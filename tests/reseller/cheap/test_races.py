"""Cheap orders under concurrency, real threads on PostgreSQL, over HTTP (a test client per
thread): the wallet never pays for more numbers than it covers, and an order resolves once."""

import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Hold, Transfer
from billing.verify import ledger_verify
from reseller.activations.lifecycle import activation_expire
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from tests.billing.test_races import run_concurrently
from tests.reseller.cheap.conftest import PATH, order_of, server_on
from tests.reseller.conftest import balance_of
from upstream.models import SandboxActivation

pytestmark = pytest.mark.django_db(transaction=True)


def get(key: str, **params) -> str:
    response = Client().get(PATH, {"api_key": key, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_fifty_buys_on_a_balance_for_seven(sandbox, customer_with_key):
    customer, key = customer_with_key(balance="700.00")
    server = server_on(sandbox, price=Decimal("100.00"))  # tg/22 costs 96.00

    replies = run_concurrently(50, lambda i: get(key, action="buyNumber", server=str(server.pk)))

    assert not [r for r in replies if isinstance(r, Exception)], replies
    bought = [r for r in replies if r.startswith("ORD_")]
    assert len(bought) == 7, replies
    assert replies.count("LOW_BALANCE") == 43, replies
    orders = [order_of(r) for r in bought]
    assert len({o.pk for o in orders}) == 7 and len({o.phone for o in orders}) == 7
    assert all(o.state == "active" and o.price == Decimal("100.00") for o in orders)
    assert balance_of(customer) == Decimal("0.00")
    assert get(key, action="getBalance") == "ACCESS_BALANCE:0.00"
    assert SandboxActivation.objects.count() == 7  # a request refused for its balance buys nothing upstream
    assert Hold.objects.filter(status="open").count() == 7
    report = ledger_verify()
    assert report.ok, report.render()


def bought_long_ago(key, server) -> Activation:
    """A cheap order past the cancel grace and its lifetime, its SMS due upstream: the cancels,
    the sweeper and the status sync may all act on it."""
    order = order_of(get(key, action="buyNumber", server=str(server.pk)))
    past = timezone.now() - timedelta(seconds=1000)
    Activation.objects.filter(pk=order.pk).update(
        activated_at=past, created_at=past, expires_at=past + timedelta(seconds=900)
    )
    SandboxActivation.objects.filter(pk=int(order.upstream_id)).update(sms_due_at=timezone.now())
    return order


@pytest.mark.parametrize("leader", ["cancel", "sync", "sweep", None, "sync", None])
def test_cancels_an_arriving_sms_and_the_sweeper_resolve_once(sandbox, customer_with_key, leader):
    """All start together; with a `leader` the others start up to 150 ms later, so each of
    them wins in some rounds (the status sync, slower than the rest, would seldom win)."""
    customer, key = customer_with_key(balance="500.00")
    server = server_on(sandbox)
    order = bought_long_ago(key, server)
    ref = f"ORD_{order.pk}"

    def actor(i):
        role = "cancel" if i < 8 else "sync" if i == 8 else "sweep"
        if leader is not None and role != leader:
            time.sleep(random.uniform(0, 0.15))
        if i < 8:
            return ("cancel", get(key, action="setStatus", id=ref, status="8"))
        if i == 8:
            return ("sync", provider_sync_statuses(provider_id=sandbox.pk))
        return ("sweep", activation_expire(activation=Activation.objects.select_related("provider").get(pk=order.pk)))

    results = run_concurrently(10, actor)
    assert not [r for r in results if isinstance(r, Exception)], results

    order.refresh_from_db()
    hold = Hold.objects.get(pk=order.hold_id)
    cancels = [reply for what, reply in results if what == "cancel"]
    captures = Transfer.objects.filter(kind="capture", order_kind="cheap", order_pk=order.pk)
    if order.state == "finished":  # the code came first: charged once; every cancel says so
        assert hold.status == "captured" and captures.count() == 1
        assert set(cancels) == {"ACCESS_FINISH"}, cancels
        assert balance_of(customer) == Decimal("500.00") - order.price
    else:  # a cancel or the sweeper came first: refunded once; the late code is our loss
        assert order.state in ("cancelled", "expired"), order.state
        assert hold.status == "released" and not captures.exists()
        assert set(cancels) == {"ACCESS_READY"}, cancels
        assert balance_of(customer) == Decimal("500.00")
    assert Transfer.objects.filter(kind="upstream_cost", order_pk=order.pk).count() <= 1
    assert Transfer.objects.filter(kind="loss", order_pk=order.pk).count() <= 1
    assert get(key, action="setStatus", id=ref, status="8") == cancels[0]  # a retry: the same answer
    report = ledger_verify()
    assert report.ok, report.render()


def test_concurrent_finishes_charge_once(sandbox, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    order = order_of(get(key, action="buyNumber", server=str(server_on(sandbox).pk)))
    SandboxActivation.objects.filter(pk=int(order.upstream_id)).update(sms_due_at=timezone.now())
    provider_sync_statuses(provider_id=sandbox.pk)

    replies = run_concurrently(10, lambda i: get(key, action="setStatus", id=f"ORD_{order.pk}", status="6"))

    assert replies == ["ACCESS_FINISH"] * 10, replies
    assert Transfer.objects.filter(kind="capture", order_pk=order.pk, order_kind="cheap").count() == 1
    assert balance_of(customer) == Decimal("500.00") - order.price
    report = ledger_verify()
    assert report.ok, report.render()
