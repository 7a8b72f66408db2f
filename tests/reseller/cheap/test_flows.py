"""Cheap orders end to end through cheap_handler.php, with the money checked after each (and
ledger_verify by the autouse fixture): the code arrives through the beat's status sync, the
expiry sweeper ends orders after 15 minutes, cancels are forwarded upstream."""

from decimal import Decimal

import pytest

from billing.models import Hold, Transfer
from reseller.activations.lifecycle import activations_expire_due
from reseller.models import Activation
from tests.reseller.cheap.conftest import order_of, server_on, sms_through_sync
from tests.reseller.conftest import account, age, balance_of
from upstream.models import SandboxActivation

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(customer_with_key):
    return customer_with_key(balance="1000.00")


@pytest.fixture
def server(sandbox):
    """tg India from the sandbox in slot 1, at cost + markup (no rules: the cost)."""
    return server_on(sandbox, name="Telegram India")


def buy(cheap_text, key, server, **params):
    return order_of(cheap_text(key, "buyNumber", server=str(server.pk), **params))


def transfers_of(order, kind: str):
    return Transfer.objects.filter(kind=kind, order_kind="cheap", order_pk=order.pk)


def test_finish_charges_once(server, cheap_text, buyer):
    customer, key = buyer
    order = buy(cheap_text, key, server)
    ref = f"ORD_{order.pk}"
    assert order.state == "active" and order.price == order.cost_pkr > 0
    assert balance_of(customer) == Decimal("1000.00") - order.price
    assert cheap_text(key, "getStatus", id=ref) == "STATUS_WAIT_CODE"
    sms_through_sync(order)
    assert order.state == "code_received" and order.code
    assert cheap_text(key, "getStatus", id=ref) == f"STATUS_OK:{order.code}"
    assert cheap_text(key, "setStatus", id=ref, status="6") == "ACCESS_FINISH"
    assert cheap_text(key, "setStatus", id=ref, status="6") == "ACCESS_FINISH"  # a client's retry
    assert cheap_text(key, "setStatus", id=ref, status="8") == "ACCESS_FINISH"
    assert balance_of(customer) == Decimal("1000.00") - order.price
    capture, cost = transfers_of(order, "capture"), transfers_of(order, "upstream_cost")
    assert capture.count() == 1 and capture.get().amount == order.price
    assert cost.count() == 1 and cost.get().amount == order.cost_pkr
    assert account("revenue") == order.price
    assert SandboxActivation.objects.get(pk=int(order.upstream_id)).status == "finished"
    order.refresh_from_db()
    assert (order.state, order.upstream_pending) == ("finished", "")


def test_cancel_after_two_minutes_refunds_in_full(server, cheap_text, buyer):
    customer, key = buyer
    order = buy(cheap_text, key, server)
    ref = f"ORD_{order.pk}"
    assert cheap_text(key, "setStatus", id=ref, status="8") == "EARLY_CANCEL_DENIED"
    age(order, 119)
    assert cheap_text(key, "setStatus", id=ref, status="8") == "EARLY_CANCEL_DENIED"
    age(order, 121)  # (from the order as bought)
    assert cheap_text(key, "setStatus", id=ref, status="8") == "ACCESS_READY"
    assert cheap_text(key, "getStatus", id=ref) == "STATUS_CANCEL"
    assert balance_of(customer) == Decimal("1000.00")
    assert Hold.objects.get(pk=order.hold_id).status == "released"
    assert not transfers_of(order, "capture").exists()
    assert SandboxActivation.objects.get(pk=int(order.upstream_id)).status == "cancelled"  # forwarded upstream
    order.refresh_from_db()
    assert (order.state, order.upstream_pending) == ("cancelled", "")
    assert cheap_text(key, "setStatus", id=ref, status="8") == "ACCESS_READY"  # a retry moves no money
    assert balance_of(customer) == Decimal("1000.00")


def test_expiry_without_code_refunds(server, cheap_text, buyer):
    customer, key = buyer
    order = buy(cheap_text, key, server)
    age(order, 899)
    assert activations_expire_due() == 0  # 15 minutes, not the 20 of an activation
    age(order, 901)
    assert activations_expire_due() == 1
    order.refresh_from_db()
    assert order.state == "expired"
    assert cheap_text(key, "getStatus", id=f"ORD_{order.pk}") == "STATUS_CANCEL"
    assert cheap_text(key, "setStatus", id=f"ORD_{order.pk}", status="6") == "ACCESS_READY"
    assert balance_of(customer) == Decimal("1000.00")
    assert account("revenue") == 0


def test_expiry_with_code_finishes_charged(server, cheap_text, buyer):
    customer, key = buyer
    order = buy(cheap_text, key, server)
    sms_through_sync(order)
    age(order, 901)
    assert activations_expire_due() == 1
    order.refresh_from_db()
    assert order.state == "finished"
    assert cheap_text(key, "getStatus", id=f"ORD_{order.pk}") == f"STATUS_OK:{order.code}"
    assert balance_of(customer) == Decimal("1000.00") - order.price
    assert transfers_of(order, "capture").count() == 1 and transfers_of(order, "upstream_cost").count() == 1
    assert account("revenue") == order.price


def test_cancel_after_the_code_ends_charged(server, cheap_text, buyer):
    customer, key = buyer
    order = buy(cheap_text, key, server)
    sms_through_sync(order)
    age(order, 200)
    assert cheap_text(key, "setStatus", id=f"ORD_{order.pk}", status="8") == "ACCESS_FINISH"
    assert balance_of(customer) == Decimal("1000.00") - order.price
    assert transfers_of(order, "capture").count() == 1


def test_fixed_price_is_what_the_customer_pays(sandbox, cheap_text, buyer):
    customer, key = buyer
    server = server_on(sandbox, service="wa", price=Decimal("130.00"), type=2, name="WhatsApp India")
    order = buy(cheap_text, key, server, type="2")
    assert order.price == Decimal("130.00") and order.cost_pkr == Decimal("120.00")  # the sandbox's wa/22 cost
    sms_through_sync(order)
    assert cheap_text(key, "setStatus", id=str(order.pk), status="3") == "ACCESS_FINISH"
    assert balance_of(customer) == Decimal("870.00")
    assert account("revenue") == Decimal("130.00") and account("upstream_cost") == Decimal("120.00")


def test_fixed_price_below_every_cost_sells_nothing(sandbox, cheap_text, buyer):
    customer, key = buyer
    server = server_on(sandbox, service="wa", price=Decimal("100.00"))  # wa/22 costs 120.00
    wa = server.services.get().pk
    assert cheap_text(key, "getServices", server=str(server.pk)) == f'{{"{wa}":"Whatsapp \\u2014 \\u20a8100.00"}}'
    assert cheap_text(key, "buyNumber", server=str(server.pk)) == "NO_NUMBERS"
    assert balance_of(customer) == Decimal("1000.00")


def test_fixed_price_stays_fixed_when_the_upstream_charges_more(sandbox, cheap_text, buyer):
    """The upstream cannot be capped and charges more than our catalogue says: a fixed price
    stays fixed (the extra comes out of our margin), no LOW_BALANCE."""
    customer, key = buyer
    server = server_on(sandbox, service="wa", price=Decimal("130.00"))
    sandbox.config = {**sandbox.config, "ignore_max_price": True, "prices": {"22": {"wa": {"cost": "125.00"}}}}
    sandbox.save(update_fields=["config"])
    order = buy(cheap_text, key, server)
    assert (order.price, order.cost_pkr) == (Decimal("130.00"), Decimal("125.00"))
    assert balance_of(customer) == Decimal("870.00")


def test_disabled_provider_sells_nothing(server, sandbox, cheap_text, buyer):
    customer, key = buyer
    sandbox.enabled = False
    sandbox.save(update_fields=["enabled"])
    assert cheap_text(key, "buyNumber", server=str(server.pk)) == "NO_NUMBERS"
    assert cheap_text(key, "getServices", server=str(server.pk)) == "NO_SERVICES"
    assert balance_of(customer) == Decimal("1000.00")
    assert not Activation.objects.exists()


def test_any_country_buys_the_cheapest(sandbox, cheap_text, buyer):
    _, key = buyer
    server = server_on(sandbox, country=None, name="Telegram anywhere")
    order = buy(cheap_text, key, server)
    assert order.country_id == 6  # Indonesia: the sandbox's cheapest tg
    assert order.cheap_server_id == server.pk


def test_balance_is_what_is_left_after_holds(server, cheap_text, buyer):
    customer, key = buyer
    order = buy(cheap_text, key, server)
    assert cheap_text(key, "getBalance") == f"ACCESS_BALANCE:{Decimal('1000.00') - order.price}"
