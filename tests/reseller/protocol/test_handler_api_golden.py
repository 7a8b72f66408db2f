"""Golden bytes of every handler_api.php action and error, both dialects
(SMS-Activate without `type`, OTPGet with it). Expected bodies live in
golden/handler_api/; `$id`, `$phone`, `$time`, `$code`, `$text`, `$sms_time`
stand for values the server assigns and are filled from the database."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from string import Template

import pytest
from django.utils import timezone

from billing.services import markup_set
from reseller.models import Activation
from tests.reseller.conftest import age, deliver_sms
from upstream.models import Country, Offer, Operator, Provider, Service

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden" / "handler_api"
PATH = "/stubs/handler_api.php"
TEXT = "text/html; charset=UTF-8"
JSON = "application/json"


@pytest.fixture
def shop():
    """Two sandbox providers, a fixed catalogue and a +20 % global markup."""
    india, pakistan = Country.objects.create(id=22, name="India"), Country.objects.create(id=66, name="Pakistan")
    tg = Service.objects.create(id=101, code="tg", name="Telegram")
    wa = Service.objects.create(id=102, code="wa", name="Whatsapp")
    ot = Service.objects.create(id=103, code="ot", name="Any other")
    one = Provider.objects.create(
        slot=1,
        protocol="sandbox",
        name="one",
        config={
            "sms_delay_seconds": 3600,
            "prices": {
                "22": {"tg": {"cost": "10.00", "count": 5}, "wa": {"cost": "14.00", "count": 7}},
                "66": {"tg": {"cost": "9.00", "count": 3}},
            },
        },
    )
    two = Provider.objects.create(
        slot=2,
        protocol="sandbox",
        name="two",
        config={
            "sms_delay_seconds": 3600,
            "prices": {"22": {"tg": {"cost": "11.00", "count": 2}}},
        },
    )
    for provider, country, service, cost, stock in (
        (one, india, tg, "10.00", 5),
        (one, india, wa, "14.00", 7),
        (one, pakistan, tg, "9.00", 3),
        (one, india, ot, "1.00", 0),
        (two, india, tg, "11.00", 2),
    ):
        Offer.objects.create(provider=provider, country=country, service=service, cost=Decimal(cost), stock=stock)
    markup_set(scope="global", percent=Decimal("20"))
    return one


@pytest.fixture
def key(customer_with_key):
    return customer_with_key(balance="500.00")[1]


@pytest.fixture
def call(client, django_capture_on_commit_callbacks):
    def do(key, action, method="get", **params):
        with django_capture_on_commit_callbacks(execute=True):
            if method == "get":
                return client.get(PATH, {"api_key": key, "action": action, **params})
            return client.post(PATH, {"api_key": key, "action": action, **params})

    return do


def expect(response, case: str, activation: Activation | None = None) -> None:
    body = (GOLDEN / f"{case}.txt").read_text()
    if activation is not None:
        activation.refresh_from_db()
        local = timezone.localtime
        body = Template(body).substitute(
            id=activation.pk,
            phone=activation.phone,
            time=local(activation.activated_at).strftime("%Y-%m-%d %H:%M:%S") if activation.activated_at else "",
            code=activation.code or activation.previous_code,
            text=activation.sms_text,
            sms_time=local(activation.sms_at).strftime("%Y-%m-%d %H:%M:%S") if activation.sms_at else "",
        )
    assert response.status_code == 200
    assert response.content == body.encode(), (case, response.content)
    assert response["Content-Type"] == (JSON if body.startswith(("{", "[")) else TEXT)


def buy(call, key, **params) -> Activation:
    response = call(key, "getNumber", service="tg", country="22", **params)
    activation = Activation.objects.get(pk=int(response.content.split(b":")[1]))
    expect(response, "getNumber", activation)
    return activation


# --- catalogue -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "action,params,case",
    [
        ("getBalanceAndCashBack", {}, "getBalanceAndCashBack"),
        ("getCountries", {}, "getCountries"),
        ("getCountries", {"type": "1"}, "getCountries_type1"),
        ("getCountries", {"type": "2"}, "getCountries_type2"),
        ("getCountries", {"type": "9"}, "BAD_TYPE"),
        ("getServices", {"country": "22"}, "getServices"),
        ("getServices", {"country": "22", "type": "1"}, "getServices"),
        ("getServices", {"country": "22", "type": "2"}, "getServices_type2"),
        ("getServices", {"type": "1"}, "BAD_COUNTRY"),
        ("getServices", {"country": "999", "type": "1"}, "BAD_COUNTRY"),
        ("getServicesList", {}, "getServicesList"),
        ("getServicesList", {"country": "66"}, "getServicesList_country66"),
        ("getPrices", {}, "getPrices"),
        ("getPrices", {"service": "tg", "country": "22", "type": "2"}, "getPrices_tg_22_type2"),
        ("getPrices", {"service": "ot"}, "getPrices_empty"),
        ("getPrices", {"service": "zz"}, "BAD_SERVICE"),
        ("getNumbersStatus", {"country": "22"}, "getNumbersStatus"),
        ("getTopCountriesByService", {"service": "tg"}, "getTopCountriesByService"),
        ("getTopCountriesByService", {"service": "tg", "freePrice": "true"}, "getTopCountriesByService_freePrice"),
        ("getTopCountriesByService", {}, "BAD_SERVICE"),
        ("getOperators", {}, "getOperators"),
        ("getOperators", {"country": "22"}, "getOperators_country22"),
        ("getOperators", {"country": "5"}, "OPERATORS_NOT_FOUND"),
    ],
)
def test_catalogue_actions(shop, key, call, action, params, case, method):
    expect(call(key, action, method=method, **params), case)


# --- buying -------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", [{}, {"type": "1"}])
def test_get_number_both_dialects(shop, key, call, dialect):
    activation = buy(call, key, **dialect)
    assert activation.provider.slot == 1 and activation.price == Decimal("12.00")


def test_get_number_by_numeric_service_id(shop, key, call):
    response = call(key, "getNumber", service="101", country="22", type="1")
    expect(response, "getNumber", Activation.objects.get())


def test_get_number_type2_buys_at_slot_2_price(shop, key, call):
    activation = buy(call, key, type="2")
    assert (activation.provider.slot, activation.price) == (2, Decimal("13.20"))


def test_get_number_v2(shop, key, call):
    response = call(key, "getNumberV2", service="tg", country="22", orderId="A-1")
    expect(response, "getNumberV2", Activation.objects.get())
    expect(call(key, "getNumberV2", service="tg", country="22", orderId="A-1"), "ORDER_ALREADY_EXISTS")


@pytest.mark.parametrize(
    "params,case",
    [
        ({"service": "zz", "country": "22"}, "BAD_SERVICE"),
        ({"country": "22"}, "BAD_SERVICE"),
        ({"service": "tg", "country": "999"}, "BAD_COUNTRY"),
        ({"service": "tg", "country": "abc"}, "BAD_COUNTRY"),
        ({"service": "tg", "type": "1"}, "BAD_COUNTRY"),
        ({"service": "tg", "country": "22", "type": "0"}, "BAD_TYPE"),
        ({"service": "tg", "country": "22", "type": "7"}, "BAD_TYPE"),
        ({"service": "tg", "country": "22", "type": "3"}, "BAD_TYPE"),
        ({"service": "ot", "country": "22"}, "NO_NUMBERS"),
        ({"service": "tg", "country": "22", "maxPrice": "5"}, "WRONG_MAX_PRICE"),
    ],
)
@pytest.mark.parametrize("action", ["getNumber", "getNumberV2"])
def test_get_number_errors(shop, key, call, params, case, action):
    expect(call(key, action, **params), case)
    assert not Activation.objects.exists()


def test_no_balance(shop, call, customer_with_key):
    _, poor = customer_with_key(balance="11.99")
    expect(call(poor, "getNumber", service="tg", country="22"), "NO_BALANCE")


def test_provider_errors(shop, key, call):
    Provider.objects.filter(slot=1).update(config={**shop.config, "fail": "error"})
    expect(call(key, "getNumber", service="tg", country="22", type="1"), "ERROR_PROVIDER")
    Provider.objects.filter(slot=1).update(config={**shop.config, "fail": "timeout"})
    expect(call(key, "getNumber", service="tg", country="22", type="1"), "ERROR_PROVIDER_TIMEOUT")


# --- after buying -------------------------------------------------------------------------


def test_status_lifecycle_tokens(shop, key, call):
    a = buy(call, key)
    expect(call(key, "getStatus", id=a.pk), "STATUS_WAIT_CODE")
    expect(call(key, "getStatusV2", id=a.pk), "getStatusV2_waiting")
    expect(call(key, "getFullSms", id=a.pk), "STATUS_WAIT_CODE")
    expect(call(key, "getActiveActivations"), "getActiveActivations", a)
    expect(call(key, "setStatus", id=a.pk, status="1"), "ACCESS_READY")
    expect(call(key, "setStatus", id=a.pk, status="3"), "NO_SMS_RECEIVED")
    expect(call(key, "setStatus", id=a.pk, status="6"), "NO_SMS_RECEIVED")
    expect(call(key, "setStatus", id=a.pk, status="8"), "EARLY_CANCEL_DENIED")
    deliver_sms(a)
    expect(call(key, "getStatus", id=a.pk), "STATUS_OK", a)
    expect(call(key, "getStatusV2", id=a.pk), "getStatusV2_sms", a)
    expect(call(key, "getFullSms", id=a.pk), "FULL_SMS", a)
    expect(call(key, "getActiveActivations"), "getActiveActivations_code", a)
    expect(call(key, "setStatus", id=a.pk, status="3"), "ACCESS_RETRY_GET")
    expect(call(key, "getStatus", id=a.pk), "STATUS_WAIT_RETRY", a)
    deliver_sms(a)
    expect(call(key, "getStatus", id=a.pk), "STATUS_OK", a)
    expect(call(key, "setStatus", id=a.pk, status="6"), "ACCESS_ACTIVATION")
    expect(call(key, "getStatus", id=a.pk), "STATUS_CANCEL")
    expect(call(key, "getStatusV2", id=a.pk), "getStatusV2_sms", a)
    expect(call(key, "setStatus", id=a.pk, status="8"), "STATUS_ALREADY_CHANGED")
    expect(call(key, "getActiveActivations"), "NO_ACTIVATIONS")
    expect(call(key, "getHistory"), "getHistory", a)


def test_cancel_tokens_both_dialect_values(shop, key, call):
    for status in ("8", "-1"):
        a = buy(call, key)
        age(a, 121)
        expect(call(key, "setStatus", id=a.pk, status=status), "ACCESS_CANCEL")
        expect(call(key, "getStatus", id=a.pk), "STATUS_CANCEL")
        expect(call(key, "getStatusV2", id=a.pk), "STATUS_CANCEL")
        expect(call(key, "getFullSms", id=a.pk), "STATUS_CANCEL")


@pytest.mark.parametrize(
    "action,params,case",
    [
        ("getStatus", {}, "BAD_ID"),
        ("getStatus", {"id": ""}, "BAD_ID"),
        ("getStatus", {"id": "abc"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "-5"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "99999999"}, "NO_ACTIVATION"),
        ("getStatus", {"id": "9" * 40}, "NO_ACTIVATION"),
        ("getStatusV2", {"id": "99999999"}, "NO_ACTIVATION"),
        ("getFullSms", {"id": "99999999"}, "NO_ACTIVATION"),
        ("setStatus", {"status": "8"}, "BAD_ID"),
        ("setStatus", {"id": "99999999", "status": "8"}, "NO_ACTIVATION"),
        # SMS-Activate's API document lists WRONG_ACTIVATION_ID for setStatus ("invalid ID or ID is not a number") only.
        ("setStatus", {"id": "abc", "status": "8"}, "WRONG_ACTIVATION_ID"),
        ("setStatus", {"id": "-5", "status": "6"}, "WRONG_ACTIVATION_ID"),
        ("setStatus", {"id": "0", "status": "8"}, "WRONG_ACTIVATION_ID"),
        ("setStatus", {"id": "1.5", "status": "1"}, "WRONG_ACTIVATION_ID"),
        ("setStatus", {"id": "9" * 40, "status": "8"}, "WRONG_ACTIVATION_ID"),
        ("getStatusV2", {"id": "abc"}, "NO_ACTIVATION"),
        ("getFullSms", {"id": "abc"}, "NO_ACTIVATION"),
        ("setStatus", {"id": "1", "status": "5"}, "BAD_STATUS"),
        ("setStatus", {"id": "1"}, "BAD_STATUS"),
        ("setStatus", {"id": "1", "status": "x"}, "BAD_STATUS"),
        ("getHistory", {"start": "abc"}, "WRONG_DATE"),
        ("getHistory", {"start": "1000", "end": "99999999"}, "WRONG_DATE"),
        ("getHistory", {}, "getHistory_empty"),
        ("getActiveActivations", {}, "NO_ACTIVATIONS"),
    ],
)
def test_id_status_and_date_errors(shop, key, call, action, params, case):
    expect(call(key, action, **params), case)


def test_another_customers_activation_is_indistinguishable(shop, key, call, customer_with_key):
    a = buy(call, key)
    _, other = customer_with_key(balance="10")
    expect(call(other, "getStatus", id=a.pk), "NO_ACTIVATION")
    expect(call(other, "setStatus", id=a.pk, status="6"), "NO_ACTIVATION")
    expect(call(other, "getStatusV2", id=a.pk), "NO_ACTIVATION")


def test_history_window(shop, key, call):
    a = buy(call, key)
    now = int(timezone.now().timestamp())
    expect(call(key, "getHistory", start=str(now - 3600), end=str(now + 60), limit="10"), "getHistory_active", a)
    old = int((timezone.now() - timedelta(days=3)).timestamp())
    expect(call(key, "getHistory", start=str(old - 3600), end=str(old)), "getHistory_empty")


def test_price_change(shop, call, customer_with_key):
    _, poor = customer_with_key(balance="150.00")
    Provider.objects.filter(slot=1).update(
        config={**shop.config, "ignore_max_price": True, "prices": {"22": {"tg": {"cost": "900.00", "count": 5}}}}
    )
    expect(call(poor, "getNumber", service="tg", country="22", type="1"), "ERROR_PRICE_CHANGE")


# --- fidelity (issue 11): BAD_TYPE, BAD_SERVICE, phoneException, operators ----------------------

EMPTY_SLOT_CALLS = [
    ("getCountries", {"type": "3"}),
    ("getServices", {"country": "22", "type": "3"}),
    ("getPrices", {"type": "3"}),
    ("getNumbersStatus", {"country": "22", "type": "3"}),
    ("getTopCountriesByService", {"service": "tg", "type": "3"}),
    ("getNumber", {"service": "tg", "country": "22", "type": "3"}),
    ("getNumberV2", {"service": "tg", "country": "22", "type": "3"}),
]


@pytest.mark.parametrize("action,params", EMPTY_SLOT_CALLS)
def test_empty_slot_is_bad_type_on_every_action_with_type(shop, key, call, action, params):
    expect(call(key, action, **params), "BAD_TYPE")


@pytest.mark.parametrize("action,params", [(a, {**p, "type": "2"}) for a, p in EMPTY_SLOT_CALLS])
def test_disabled_slot_is_bad_type_on_every_action_with_type(shop, key, call, action, params):
    Provider.objects.filter(slot=2).update(enabled=False)
    expect(call(key, action, **params), "BAD_TYPE")
    assert not Activation.objects.exists()


@pytest.mark.parametrize(
    "params,case",
    [
        # OTPGet: BAD_SERVICE is "service code not found for given country/type".
        ({"service": "wa", "country": "22", "type": "2"}, "BAD_SERVICE"),
        ({"service": "tg", "country": "66", "type": "2"}, "BAD_SERVICE"),
        ({"service": "wa", "country": "66", "type": "1"}, "BAD_SERVICE"),
        # Listed there, out of stock: still NO_NUMBERS; without `type` SMS-Activate's NO_NUMBERS.
        ({"service": "ot", "country": "22", "type": "1"}, "NO_NUMBERS"),
        ({"service": "wa", "country": "66"}, "NO_NUMBERS"),
    ],
)
@pytest.mark.parametrize("action", ["getNumber", "getNumberV2"])
def test_service_not_sold_for_country_and_slot(shop, key, call, params, case, action):
    expect(call(key, action, **params), case)
    assert not Activation.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "79",
        "abc",
        "7918,",
        ",7918",
        "7918,,7900",
        "79181234567",
        "7918;7900",
        "+7918",
        "７９１８",
        ",".join(["7918"] * 51),
    ],
)
@pytest.mark.parametrize("action", ["getNumber", "getNumberV2"])
def test_malformed_phone_exception(shop, key, call, value, action):
    expect(call(key, action, service="tg", country="22", phoneException=value), "WRONG_EXCEPTION_PHONE")
    assert not Activation.objects.exists()


def test_phone_exception_goes_only_to_protocols_that_honour_it(shop, key, call):
    """The sandbox cannot exclude prefixes: a purchase with them finds no provider that can."""
    expect(call(key, "getNumber", service="tg", country="22", phoneException="9191, 7900111"), "NO_NUMBERS")
    response = call(key, "getNumber", service="tg", country="22", phoneException="")
    expect(response, "getNumber", Activation.objects.get())


@pytest.fixture
def operators(shop):
    two = Provider.objects.get(slot=2)
    Operator.objects.create(provider=two, country_id=22, code="airtel")
    Operator.objects.create(provider=shop, country_id=22, code="jio")
    Operator.objects.create(provider=shop, country_id=22, code="airtel")


@pytest.mark.parametrize(
    "params,case",
    [
        ({}, "getOperators_synced"),
        ({"country": "22"}, "getOperators_synced_country22"),
        ({"country": "66"}, "getOperators_country66"),  # offers, no synced operators
        ({"country": "0"}, "OPERATORS_NOT_FOUND"),
        ({"country": "x"}, "OPERATORS_NOT_FOUND"),
    ],
)
def test_get_operators_from_synced_operators(operators, key, call, params, case):
    expect(call(key, "getOperators", **params), case)


def test_get_operators_leaves_out_disabled_providers(operators, key, call):
    Provider.objects.filter(slot=1).update(enabled=False)
    expect(call(key, "getOperators", country="22"), "getOperators_synced_slot2")


@pytest.mark.parametrize(
    "operator,slot",
    [
        ("jio", 1),  # only slot 1 lists it
        ("JIO", 1),
        ("airtel", 1),  # both list it: the cheapest
        ("vodafone", 1),  # nobody lists it: any operator (SMS-Activate's API document), cheapest
        ("any", 1),
        ("jio,any", 1),
    ],
)
def test_operator_routes_to_providers_listing_it(operators, key, call, operator, slot):
    activation = buy(call, key, operator=operator)
    assert activation.provider.slot == slot


def test_operator_listed_only_by_a_dearer_provider_goes_there(operators, key, call):
    Operator.objects.create(provider=Provider.objects.get(slot=2), country_id=22, code="idea")
    activation = buy(call, key, operator="idea")
    assert (activation.provider.slot, activation.price) == (2, Decimal("13.20"))
    # Listed, but only where that service is out of stock: NO_NUMBERS, not another operator's number.
    Offer.objects.filter(provider__slot=2).update(stock=0)
    expect(call(key, "getNumber", service="tg", country="22", operator="idea"), "NO_NUMBERS")
