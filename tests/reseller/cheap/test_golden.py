"""Golden bytes of every cheap_handler.php action and error token, for GET, POST with a form
body and POST with the query string only: body, content type and HTTP 200, exactly.
Expected bodies live in tests/reseller/protocol/golden/cheap_handler/; `$id`, `$phone` and
`$code` stand for values the server assigns and are filled from the database."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from string import Template

import pytest
from django.db import OperationalError
from django.utils import timezone

from accounts.services import customer_block
from billing.models import Transfer
from billing.services import markup_set
from reseller.models import Activation, CheapServer
from tests.reseller.cheap.conftest import METHODS
from tests.reseller.conftest import age, balance_of, deliver_sms
from upstream.models import Country, Offer, Provider, Service

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parents[1] / "protocol" / "golden" / "cheap_handler"
TEXT = "text/html; charset=UTF-8"
JSON = "application/json"


# The sandbox upstreams sell at the costs of our offers.
CONFIGS = {
    1: {
        "sms_delay_seconds": 3600,
        "prices": {
            "22": {"tg": {"cost": "10.00", "count": 5}, "wa": {"cost": "14.00", "count": 7}},
            "66": {"tg": {"cost": "9.00", "count": 3}},
        },
    },
    2: {"sms_delay_seconds": 3600, "prices": {"22": {"tg": {"cost": "11.00", "count": 2}}}},
}


def configure(slot: int, **changes) -> None:
    Provider.objects.filter(slot=slot).update(config={**CONFIGS[slot], **changes})


@pytest.fixture
def shop():
    """Two sandbox providers, a fixed catalogue, a +20 % markup and six cheap servers:
    1 type 1 tg+wa from any provider and country at cost + markup; 2 type 1 tg India from
    slot 2; 3 type 2 tg Pakistan from slot 1 at a fixed 50.00; 4 disabled; 5 ig (no stock
    anywhere); 6 sells nothing."""
    india, pakistan = Country.objects.create(id=22, name="India"), Country.objects.create(id=66, name="Pakistan")
    tg = Service.objects.create(id=101, code="tg", name="Telegram")
    wa = Service.objects.create(id=102, code="wa", name="Whatsapp")
    ig = Service.objects.create(id=103, code="ig", name="Instagram")
    one = Provider.objects.create(slot=1, protocol="sandbox", name="one", config=CONFIGS[1])
    two = Provider.objects.create(slot=2, protocol="sandbox", name="two", config=CONFIGS[2])
    for provider, country, service, cost, stock in (
        (one, india, tg, "10.00", 5),
        (one, india, wa, "14.00", 7),
        (one, pakistan, tg, "9.00", 3),
        (one, india, ig, "1.00", 0),
        (two, india, tg, "11.00", 2),
    ):
        Offer.objects.create(provider=provider, country=country, service=service, cost=Decimal(cost), stock=stock)
    markup_set(scope="global", percent=Decimal("20"))
    servers = [
        (1, 1, "Telegram \u2014 any country", None, [tg, wa], None, None, True),
        (2, 1, "India Server 1", two, [tg], india, None, True),
        (3, 2, "Pakistan Server 2", one, [tg], pakistan, Decimal("50.00"), True),
        (4, 2, "Switched off", one, [tg], india, None, False),
        (5, 1, "Instagram", None, [ig], None, None, True),
        (6, 1, "Nothing yet", None, [], None, None, True),
    ]
    for pk, type_, name, provider, services, country, price, enabled in servers:
        server = CheapServer.objects.create(
            pk=pk, type=type_, name=name, provider=provider, country=country, price=price, enabled=enabled
        )
        server.services.set(services)
    return one


@pytest.fixture
def key(customer_with_key):
    return customer_with_key(balance="500.00")[1]


def expect(response, case: str, order: Activation | None = None) -> None:
    body = (GOLDEN / f"{case}.txt").read_text()
    if order is not None:
        order.refresh_from_db()
        body = Template(body).substitute(id=order.pk, phone=order.phone, code=order.code)
    assert response.status_code == 200
    assert response.content == body.encode(), (case, response.content)
    assert response["Content-Type"] == (JSON if body.startswith("{") else TEXT)


def buy(cheap, key, method="get", **params) -> Activation:
    response = cheap(key, "buyNumber", method=method, **{"server": "1", **params})
    order = Activation.objects.get(pk=int(response.content.split(b",")[0].removeprefix(b"ORD_")))
    expect(response, "buyNumber", order)
    assert order.kind == "cheap"
    return order


# --- getServers, getServices ------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "action,params,case",
    [
        ("getServers", {}, "getServers"),
        ("getServers", {"type": ""}, "getServers"),
        ("getServers", {"type": "1"}, "getServers_type1"),
        ("getServers", {"type": "2"}, "getServers_type2"),
        ("getServers", {"type": "3"}, "BAD_TYPE"),
        ("getServers", {"type": "0"}, "BAD_TYPE"),
        ("getServers", {"type": "x"}, "BAD_TYPE"),
        ("getServices", {"server": "1"}, "getServices_server1"),
        ("getServices", {"server": "1", "type": "1"}, "getServices_server1"),
        ("getServices", {"server": "2", "type": ""}, "getServices_server2"),
        ("getServices", {"server": "3", "type": "2"}, "getServices_server3"),
        ("getServices", {"server": "3", "type": "1"}, "BAD_SERVER"),
        ("getServices", {"server": "3", "type": "9"}, "BAD_TYPE"),
        ("getServices", {"type": "9"}, "BAD_TYPE"),
        ("getServices", {}, "BAD_SERVER"),
        ("getServices", {"server": ""}, "BAD_SERVER"),
        ("getServices", {"server": "abc"}, "BAD_SERVER"),
        ("getServices", {"server": "-1"}, "BAD_SERVER"),
        ("getServices", {"server": "999"}, "BAD_SERVER"),
        ("getServices", {"server": "9" * 40}, "BAD_SERVER"),
        ("getServices", {"server": "4"}, "BAD_SERVER"),
        ("getServices", {"server": "5"}, "NO_SERVICES"),
        ("getServices", {"server": "6"}, "NO_SERVICES"),
    ],
)
def test_catalogue(shop, key, cheap, action, params, case, method):
    expect(cheap(key, action, method=method, **params), case)


@pytest.mark.parametrize("method", METHODS)
def test_no_servers(shop, key, cheap, method):
    CheapServer.objects.filter(type=2).update(enabled=False)
    expect(cheap(key, "getServers", method=method, type="2"), "NO_SERVERS")
    CheapServer.objects.update(enabled=False)
    expect(cheap(key, "getServers", method=method), "NO_SERVERS")


def test_services_of_a_failing_provider_are_left_out(shop, key, cheap):
    Provider.objects.filter(slot=2).update(circuit_open_until=timezone.now() + timedelta(minutes=5))
    expect(cheap(key, "getServices", server="2"), "NO_SERVICES")
    expect(cheap(key, "buyNumber", server="2"), "NO_NUMBERS")


# --- buyNumber --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_buy_number(shop, key, cheap, method, customer_with_key):
    order = buy(cheap, key, method=method)  # server 1: the cheapest tg, Pakistan from slot 1
    assert (order.provider.slot, order.country_id, order.service.code) == (1, 66, "tg")
    assert order.price == Decimal("10.80") and order.cheap_server_id == 1
    assert order.expires_at - order.activated_at == timedelta(seconds=900)


@pytest.mark.parametrize(
    "params,service,price",
    [
        ({"service": "wa"}, "wa", "16.80"),
        ({"service": "102", "type": "1"}, "wa", "16.80"),
        ({"service": "TG"}, "tg", "10.80"),
        ({"server": "2"}, "tg", "13.20"),
        ({"server": "3", "type": "2"}, "tg", "50.00"),
    ],
)
def test_buy_number_service_and_price(shop, key, cheap, params, service, price):
    order = buy(cheap, key, **params)
    assert (order.service.code, order.price) == (service, Decimal(price))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "params,case",
    [
        ({"server": "1", "service": "ig"}, "NO_SERVICES"),
        ({"server": "1", "service": "zz"}, "NO_SERVICES"),
        ({"server": "1", "service": "99999"}, "NO_SERVICES"),
        ({"server": "6"}, "NO_SERVICES"),
        ({"server": "5"}, "NO_NUMBERS"),
        ({"server": "4"}, "BAD_SERVER"),
        ({"server": "999"}, "BAD_SERVER"),
        ({"server": "x1"}, "BAD_SERVER"),
        ({"server": ""}, "BAD_SERVER"),
        ({}, "BAD_SERVER"),
        ({"server": "1", "type": "2"}, "BAD_SERVER"),
        ({"server": "1", "type": "7"}, "BAD_TYPE"),
        ({"server": "1", "type": "one"}, "BAD_TYPE"),
    ],
)
def test_buy_number_refused(shop, key, cheap, params, case, method):
    expect(cheap(key, "buyNumber", method=method, **params), case)
    assert not Activation.objects.exists()


@pytest.mark.parametrize("method", METHODS)
def test_low_balance(shop, cheap, customer_with_key, method):
    customer, poor = customer_with_key(balance="10.79")
    expect(cheap(poor, "buyNumber", method=method, server="1"), "LOW_BALANCE")
    assert balance_of(customer) == Decimal("10.79")


@pytest.mark.parametrize("fail", ["no_numbers", "error", "timeout", "unavailable", "garbage"])
def test_provider_failures_are_no_numbers_and_charge_nothing(shop, cheap, fail, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    configure(1, fail=fail)
    expect(cheap(key, "buyNumber", server="3"), "NO_NUMBERS")
    assert balance_of(customer) == Decimal("500.00")
    assert not Transfer.objects.filter(kind="capture").exists()


def test_price_change_is_low_balance(shop, cheap, customer_with_key):
    """Server 2 sells at cost + markup; the upstream charges 900.00 whatever we quoted."""
    customer, poor = customer_with_key(balance="150.00")
    configure(2, ignore_max_price=True, prices={"22": {"tg": {"cost": "900.00"}}})
    expect(cheap(poor, "buyNumber", server="2"), "LOW_BALANCE")
    assert balance_of(customer) == Decimal("150.00")
    assert Activation.objects.get().state == "failed"


@pytest.mark.parametrize("error", [RuntimeError("boom"), OperationalError("connection lost")])
def test_unexpected_error_is_database_error(shop, key, cheap, monkeypatch, error):
    from reseller.protocol.actions import cheap as actions

    def broken(**kwargs):
        raise error

    monkeypatch.setattr(actions, "cheap_buy", broken)
    expect(cheap(key, "buyNumber", server="1"), "DATABASE_ERROR")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("action", ["getServers", "getServices", "buyNumber", "getStatus", "setStatus"])
def test_account_blocked(shop, cheap, customer_with_key, action, method):
    customer, key = customer_with_key(balance="500.00")
    customer_block(customer=customer, reason="fraud")
    expect(cheap(key, action, method=method, server="1", id="ORD_1", status="8"), "account_blocked")
    assert not Activation.objects.exists()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("action", ["getServers", "getServices", "buyNumber", "getStatus", "setStatus"])
def test_bad_key(shop, cheap, action, method):
    expect(cheap("x" * 32, action, method=method, server="1", id="ORD_1", status="8"), "bad_key")
    assert not Activation.objects.exists()


@pytest.mark.parametrize("action", ["getstatus", "buynumber", "getNumber", "getPrices", ""])
def test_bad_action(shop, key, cheap, action):
    expect(cheap(key, action, server="1"), "bad_action")


# --- getStatus, setStatus ---------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_finish_tokens(shop, key, cheap, method):
    a = buy(cheap, key, method=method)
    ref = f"ORD_{a.pk}"
    expect(cheap(key, "getStatus", method=method, id=ref), "STATUS_WAIT_CODE")
    expect(cheap(key, "setStatus", method=method, id=ref, status="6"), "NO_SMS_RECEIVED")
    expect(cheap(key, "setStatus", method=method, id=ref, status="3"), "NO_SMS_RECEIVED")
    expect(cheap(key, "setStatus", method=method, id=ref, status="8"), "EARLY_CANCEL_DENIED")
    deliver_sms(a)
    expect(cheap(key, "getStatus", method=method, id=ref), "STATUS_OK", a)
    expect(cheap(key, "setStatus", method=method, id=ref, status="6"), "ACCESS_FINISH")
    expect(cheap(key, "getStatus", method=method, id=ref), "STATUS_OK", a)  # finished: the code stays readable
    for status in ("6", "3", "8"):  # retries of an ended order: how it ended, no money moved
        expect(cheap(key, "setStatus", method=method, id=ref, status=status), "ACCESS_FINISH")
    assert Transfer.objects.filter(kind="capture").count() == 1


@pytest.mark.parametrize("status", ["3", "6"])
def test_complete_with_status_3_or_6(shop, key, cheap, status):
    a = buy(cheap, key)
    deliver_sms(a)
    expect(cheap(key, "setStatus", id=a.pk, status=status), "ACCESS_FINISH")
    a.refresh_from_db()
    assert a.state == "finished"


@pytest.mark.parametrize("method", METHODS)
def test_cancel_tokens(shop, cheap, method, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    a = buy(cheap, key, method=method)
    age(a, 121)
    expect(cheap(key, "setStatus", method=method, id=f"ord_{a.pk}", status="8"), "ACCESS_READY")
    expect(cheap(key, "getStatus", method=method, id=f"ORD_{a.pk}"), "STATUS_CANCEL")
    for status in ("8", "6", "3"):
        expect(cheap(key, "setStatus", method=method, id=str(a.pk), status=status), "ACCESS_READY")
    assert balance_of(customer) == Decimal("500.00")


def test_cancel_after_the_code_finishes_charged(shop, cheap, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    a = buy(cheap, key)
    deliver_sms(a)
    age(a, 121)
    expect(cheap(key, "setStatus", id=f"ORD_{a.pk}", status="8"), "ACCESS_FINISH")
    expect(cheap(key, "getStatus", id=f"ORD_{a.pk}"), "STATUS_OK", a)
    assert balance_of(customer) == Decimal("500.00") - a.price


def test_expired_order_is_status_cancel(shop, key, cheap):
    from reseller.activations.lifecycle import activations_expire_due

    a = buy(cheap, key)
    age(a, 901)
    assert activations_expire_due() == 1
    expect(cheap(key, "getStatus", id=f"ORD_{a.pk}"), "STATUS_CANCEL")
    expect(cheap(key, "setStatus", id=f"ORD_{a.pk}", status="8"), "ACCESS_READY")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "action,params,case",
    [
        ("getStatus", {}, "BAD_ID"),
        ("getStatus", {"id": ""}, "BAD_ID"),
        ("getStatus", {"id": "  "}, "BAD_ID"),
        ("getStatus", {"id": "abc"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "ORD_"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "ORD_abc"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "ORD_6830abc123_741"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "-5"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "0"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "99999999"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "ORD_99999999"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "9" * 40}, "NO_ACTIVATION"),
        ("setStatus", {"status": "8"}, "BAD_ID"),
        ("setStatus", {"id": "", "status": "x"}, "BAD_ID"),
        ("setStatus", {}, "BAD_ID"),
        ("setStatus", {"id": "ORD_99999999", "status": "8"}, "NO_ACTIVATION"),
        ("setStatus", {"id": "abc", "status": "6"}, "NO_ACTIVATION"),
        ("setStatus", {"id": "ORD_1"}, "BAD_STATUS"),
        ("setStatus", {"id": "ORD_1", "status": ""}, "BAD_STATUS"),
        ("setStatus", {"id": "ORD_1", "status": "1"}, "BAD_STATUS"),
        ("setStatus", {"id": "ORD_1", "status": "-1"}, "BAD_STATUS"),
        ("setStatus", {"id": "ORD_1", "status": "5"}, "BAD_STATUS"),
        ("setStatus", {"id": "abc", "status": "x"}, "BAD_STATUS"),
    ],
)
def test_id_and_status_errors(shop, key, cheap, action, params, case, method):
    expect(cheap(key, action, method=method, **params), case)


def test_status_is_checked_before_the_order(shop, key, cheap):
    a = buy(cheap, key)
    expect(cheap(key, "setStatus", id=f"ORD_{a.pk}", status="1"), "BAD_STATUS")
    expect(cheap(key, "setStatus", id=f"ORD_{a.pk}"), "BAD_STATUS")


def test_other_customers_and_activations_are_no_activation(shop, key, cheap, client, customer_with_key):
    a = buy(cheap, key)
    _, other = customer_with_key(balance="100.00")
    expect(cheap(other, "getStatus", id=f"ORD_{a.pk}"), "NO_ACTIVATION")
    expect(cheap(other, "setStatus", id=f"ORD_{a.pk}", status="8"), "NO_ACTIVATION")
    # A handler_api.php activation of the same customer is not a cheap order, and the other way round.
    handler = "/stubs/handler_api.php"
    reply = client.get(handler, {"api_key": key, "action": "getNumber", "service": "tg", "country": "22"})
    activation_id = reply.content.decode().split(":")[1]
    expect(cheap(key, "getStatus", id=f"ORD_{activation_id}"), "NO_ACTIVATION")
    expect(cheap(key, "setStatus", id=activation_id, status="8"), "NO_ACTIVATION")
    wrong = client.get(handler, {"api_key": key, "action": "getStatus", "id": str(a.pk)})
    assert wrong.content == b"NO_ACTIVATION"


def test_blocked_between_the_key_check_and_the_hold(shop, cheap, customer_with_key, monkeypatch):
    """The wallet refuses a hold for a blocked owner: ACCOUNT_BLOCKED, nothing held."""
    from reseller.protocol.actions import cheap as actions

    customer, key = customer_with_key(balance="500.00")
    original = actions.cheap_server

    def block_then_find(**kwargs):
        customer_block(customer=customer, reason="fraud")
        return original(**kwargs)

    monkeypatch.setattr(actions, "cheap_server", block_then_find)
    expect(cheap(key, "buyNumber", server="1"), "account_blocked")
    assert not Activation.objects.exists()
    assert balance_of(customer) == Decimal("500.00")
