"""SmsActivateClient against the fake SMS-Activate server over real HTTP: every action and documented token.

Garbage, HTTP failures, timeouts and key hygiene: test_transport.py.
"""

import json
from decimal import Decimal

import pytest

from upstream.providers.base import (
    ActiveActivation,
    BadResponse,
    BuyRequest,
    CancelTooEarly,
    CountryEntry,
    MaxPriceRefused,
    NoNumbers,
    OperatorEntry,
    PriceEntry,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ServiceEntry,
    SetStatus,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)

pytestmark = pytest.mark.django_db

from tests.upstream.sms_activate.conftest import KEY, TG_INDIA  # noqa: E402

# --- buying ---------------------------------------------------------------------------------------


def test_buy_v2_sends_price_operator_order_and_reads_the_cost(fake, client):
    fake.set_operators(22, ["airtel", "jio"])
    request = BuyRequest(service="tg", country=22, max_price=Decimal("1.25E+1"), operator="jio", order_ref="ord-1")
    purchase = client.buy(request)
    assert purchase.upstream_id.isdigit() and purchase.phone.startswith("91") and purchase.phone.isdigit()
    assert purchase.cost == Decimal("12.5") and isinstance(purchase.cost, Decimal)
    assert purchase.operator == "jio" and json.loads(purchase.raw)["activationId"] == int(purchase.upstream_id)
    assert fake.calls == [
        (
            "getNumberV2",
            {
                "api_key": KEY,
                "action": "getNumberV2",
                "service": "tg",
                "country": "22",
                "maxPrice": "12.5",
                "operator": "jio",
                "orderId": "ord-1",
            },
        )
    ]
    assert fake.balance == Decimal("987.50")
    assert fake.activations[int(purchase.upstream_id)].order_id == "ord-1"


def test_buy_v1_parses_access_number_and_sends_no_order_id(fake, make_client):
    client = make_client(use_v2=False)
    purchase = client.buy(BuyRequest(service="tg", country=22, max_price=Decimal("1E+2"), order_ref="ord-1"))
    assert purchase.raw == f"ACCESS_NUMBER:{purchase.upstream_id}:{purchase.phone}"
    assert purchase.cost is None and purchase.operator == "any"
    action, params = fake.calls[-1]
    assert action == "getNumber" and params["maxPrice"] == "100" and "orderId" not in params


def test_buy_without_options_sends_only_service_and_country(fake, client):
    client.buy(TG_INDIA)
    assert set(fake.calls[-1][1]) == {"api_key", "action", "service", "country"}


def test_buy_errors_from_the_fakes_own_rules(fake, make_client):
    client = make_client()
    with pytest.raises(NoNumbers):
        client.buy(BuyRequest(service="tg", country=66))
    with pytest.raises(MaxPriceRefused) as refused:
        client.buy(BuyRequest(service="tg", country=22, max_price=Decimal("10")))
    assert refused.value.min_price == Decimal("12.50") and refused.value.raw == "WRONG_MAX_PRICE:12.50"
    with pytest.raises(ProviderError) as bad_service:
        client.buy(BuyRequest(service="zz", country=22))
    assert type(bad_service.value) is ProviderError and bad_service.value.raw == "BAD_SERVICE"
    client.buy(BuyRequest(service="tg", country=22, order_ref="same"))
    with pytest.raises(ProviderError) as again:
        client.buy(BuyRequest(service="tg", country=22, order_ref="same"))
    assert type(again.value) is ProviderError and again.value.raw == "ORDER_ALREADY_EXISTS"
    assert len(fake.activations) == 1
    fake.balance = "1.00"
    with pytest.raises(ProviderNoBalance):
        client.buy(TG_INDIA)
    with pytest.raises(ProviderBadKey):
        make_client(slot=2, key="wrong-key").buy(TG_INDIA)


@pytest.mark.parametrize("use_v2", [True, False])
@pytest.mark.parametrize(
    "body, error",
    [
        ("NO_NUMBERS", NoNumbers),
        ("NO_BALANCE", ProviderNoBalance),
        ("BAD_KEY", ProviderBadKey),
        ("WRONG_MAX_PRICE:15.5", MaxPriceRefused),
        ("BANNED:'2024-1-1 10-00-00'", ProviderError),
        ("ERROR_SQL", ProviderError),
        ("CHANNELS_LIMIT", ProviderError),
        ("BAD_ACTION", ProviderError),
        ("BAD_SERVICE", ProviderError),
        ("WRONG_EXCEPTION_PHONE", ProviderError),
        ("ORDER_ALREADY_EXISTS", ProviderError),
        ("SOMETHING_NEW", BadResponse),
        ('{"status":"error","message":"NO_NUMBERS"}', NoNumbers),
    ],
)
def test_buy_maps_every_documented_token(fake, make_client, use_v2, body, error):
    fake.next_response("getNumberV2" if use_v2 else "getNumber", body)
    with pytest.raises(ProviderError) as caught:
        make_client(use_v2=use_v2).buy(TG_INDIA)
    json_error = body.startswith("{")  # V2 only; raw is then the token inside
    assert type(caught.value) is (BadResponse if json_error and not use_v2 else error)
    assert caught.value.raw == ("NO_NUMBERS" if json_error and use_v2 else body)
    if error is MaxPriceRefused:
        assert caught.value.min_price == Decimal("15.5")


# --- one activation -------------------------------------------------------------------------------


def test_status_waiting_code_text_another_sms_and_finish(fake, client):
    upstream_id = client.buy(TG_INDIA).upstream_id
    assert client.status(upstream_id).state == UpstreamState.WAITING
    assert client.set_status(upstream_id, SetStatus.READY) == "ACCESS_READY"
    fake.deliver_sms(upstream_id, "123456", "Your Telegram code: 123456. Do not share it.")
    first = client.status(upstream_id)
    assert (first.state, first.code, first.raw) == (UpstreamState.CODE, "123456", "STATUS_OK:123456")
    assert first.text == "Your Telegram code: 123456. Do not share it."
    assert client.set_status(upstream_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"
    retry = client.status(upstream_id)
    assert (retry.state, retry.code, retry.text) == (UpstreamState.WAIT_RETRY, "123456", None)
    fake.deliver_sms(upstream_id, "654321")
    second = client.status(upstream_id)
    assert (second.state, second.code, second.text) == (UpstreamState.CODE, "654321", "Your code is 654321")
    assert client.set_status(upstream_id, SetStatus.FINISH) == "ACCESS_ACTIVATION"
    assert client.status(upstream_id).state == UpstreamState.CANCELLED  # SMS-Activate says so for finished ones
    assert fake.activations[int(upstream_id)].status == "finished" and fake.balance == Decimal("987.50")


def test_cancel_refunds_upstream_and_reads_cancelled(fake, client):
    upstream_id = client.buy(TG_INDIA).upstream_id
    assert client.set_status(upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert client.status(upstream_id).state == UpstreamState.CANCELLED
    assert fake.balance == Decimal("1000") and fake.calls[-2][1]["status"] == "8"


def test_full_text_can_be_turned_off(fake, make_client):
    client = make_client(full_text=False)
    upstream_id = client.buy(TG_INDIA).upstream_id
    fake.deliver_sms(upstream_id, "777")
    assert client.status(upstream_id).text is None
    assert "getStatusV2" not in fake.actions()


@pytest.mark.parametrize(
    "body, status", [("<html>oops</html>", 200), ("", 200), ("NO_ACTIVATION", 200), ("{", 200), ("down", 502)]
)
def test_a_failing_full_text_keeps_the_code(fake, client, body, status):
    upstream_id = client.buy(TG_INDIA).upstream_id
    fake.deliver_sms(upstream_id, "4242")
    fake.next_response("getStatusV2", body, status=status)
    result = client.status(upstream_id)
    assert (result.state, result.code, result.text) == (UpstreamState.CODE, "4242", None)


@pytest.mark.parametrize(
    "body, state, code",
    [
        ("STATUS_WAIT_CODE", UpstreamState.WAITING, None),
        ("STATUS_WAIT_RESEND", UpstreamState.WAITING, None),
        ("STATUS_WAIT_RETRY: 4321", UpstreamState.WAIT_RETRY, "4321"),
        ("STATUS_CANCEL\n", UpstreamState.CANCELLED, None),
    ],
)
def test_status_tokens(fake, make_client, body, state, code):
    fake.next_response("getStatus", body)
    result = make_client(full_text=False).status("1")
    assert (result.state, result.code) == (state, code)


@pytest.mark.parametrize(
    "body, error",
    [("NO_ACTIVATION", UnknownActivation), ("WRONG_ACTIVATION_ID", UnknownActivation), ("ERROR_SQL", ProviderError)]
    + [(garbage, BadResponse) for garbage in ("STATUS_OK:", "STATUS_OK", "OK", "ACCESS_READY")],
)
def test_status_errors(fake, client, body, error):
    fake.next_response("getStatus", body)
    with pytest.raises(ProviderError) as caught:
        client.status("1")
    assert type(caught.value) is error


def test_set_status_errors(fake, client):
    with pytest.raises(UnknownActivation):
        client.set_status("999", SetStatus.CANCEL)
    with pytest.raises(UnknownActivation) as not_a_number:
        client.set_status("abc", SetStatus.CANCEL)
    assert not_a_number.value.raw == "WRONG_ACTIVATION_ID"
    with pytest.raises(UnknownActivation):
        client.status("999")
    upstream_id = client.buy(TG_INDIA).upstream_id
    with pytest.raises(ProviderError) as early_retry:
        client.set_status(upstream_id, SetStatus.RETRY)
    assert type(early_retry.value) is ProviderError and early_retry.value.raw == "BAD_STATUS"
    fake.early_cancel_seconds = 120
    with pytest.raises(CancelTooEarly):
        client.set_status(upstream_id, SetStatus.CANCEL)
    fake.next_response("setStatus", "ACCESS_MAYBE")
    with pytest.raises(BadResponse):
        client.set_status(upstream_id, SetStatus.CANCEL)
    assert fake.activations[int(upstream_id)].status == "waiting"


# --- lists ----------------------------------------------------------------------------------------


def test_active_activations(fake, client):
    assert client.active_activations() == []  # the bare NO_ACTIVATIONS token
    first, second = client.buy(TG_INDIA), client.buy(TG_INDIA)
    fake.deliver_sms(second.upstream_id, "111")
    fake.deliver_sms(second.upstream_id, "222", "Code 222")
    active = {a.upstream_id: a for a in client.active_activations()}
    assert set(active) == {first.upstream_id, second.upstream_id}
    assert (active[first.upstream_id].state, active[first.upstream_id].code) == (UpstreamState.WAITING, None)
    got = active[second.upstream_id]
    assert (got.state, got.code, got.text, got.phone) == (UpstreamState.CODE, "222", "Code 222", second.phone)
    assert got.raw["activationCost"] == Decimal("12.5")
    client.set_status(first.upstream_id, SetStatus.CANCEL)
    assert [a.upstream_id for a in client.active_activations()] == [second.upstream_id]


def test_active_activations_document_sample_and_error_statuses(fake, client):
    item = {"activationId": "635468021", "phoneNumber": "79000000001", "smsCode": ["CODE"]}
    item["smsText"] = "[Your CODE registration code]"
    fake.next_response("getActiveActivations", json.dumps({"status": "success", "activeActivations": [item]}))
    assert client.active_activations() == [
        ActiveActivation("635468021", "79000000001", UpstreamState.CODE, "CODE", "Your CODE registration code", item)
    ]
    fake.next_response("getActiveActivations", '{"status":"error","error":"NO_ACTIVATIONS"}')
    assert client.active_activations() == []
    fake.next_response("getActiveActivations", '{"status":"error","message":"ERROR_SQL"}')
    with pytest.raises(ProviderError):
        client.active_activations()
    fake.next_response("getActiveActivations", "BAD_KEY")
    with pytest.raises(ProviderBadKey):
        client.active_activations()


def test_prices_from_the_fake_with_filters(fake, client):
    fake.set_offer(66, "wa", "30", 0)
    assert sorted(client.prices(), key=lambda p: p.country) == [
        PriceEntry(22, "tg", Decimal("12.5"), 5),
        PriceEntry(66, "wa", Decimal("30"), 0),
    ]
    assert client.prices(country=66, service="wa") == [PriceEntry(66, "wa", Decimal("30"), 0)]
    assert fake.calls[-1][1]["country"] == "66" and fake.calls[-1][1]["service"] == "wa"
    assert "country" not in fake.calls[0][1]


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            '{"0":{"tg":{"cost":"15.00","count":"120","physicalCount":"80"}}}',
            [PriceEntry(0, "tg", Decimal("15.00"), 120)],
        ),
        ('{"0":{"tg":{"cost":0.1,"count":3}}}', [PriceEntry(0, "tg", Decimal("0.1"), 3)]),
        ("{}", []),
        ("[]", []),
    ],
)
def test_prices_accept_strings_numbers_and_empty(fake, client, body, expected):
    fake.next_response("getPrices", body, content_type="application/json")
    assert client.prices() == expected


def test_countries_services_and_balance(fake, client):
    countries = client.countries()
    assert CountryEntry(22, "India") in countries and CountryEntry(0, "Russia") in countries
    fake.next_response("getCountries", '[{"id":0,"rus":"x","eng":"Russia"},{"id":1,"rus":"y","eng":"Ukraine"}]')
    assert client.countries() == [CountryEntry(0, "Russia"), CountryEntry(1, "Ukraine")]
    assert ServiceEntry("tg", "Telegram") in client.services()
    assert client.balance() == Decimal("1000.00")
    client.buy(TG_INDIA)
    assert client.balance() == Decimal("987.50")
    fake.next_response("getBalance", "ACCESS_BALANCE: 5.5\n")
    assert client.balance() == Decimal("5.5")


# --- operators and excluded prefixes (issue 11) ----------------------------------------------------


def test_operators_are_the_upstreams_get_operators(fake, client):
    """The fake answers SMS-Activate's API document's lists (Ukraine, Kazakhstan) plus what a test sets."""
    fake.set_operators(22, ["Jio", "airtel"])
    assert client.operators() == [
        OperatorEntry(1, "kyivstar"),
        OperatorEntry(1, "life"),
        OperatorEntry(1, "utel"),
        OperatorEntry(1, "mts"),
        OperatorEntry(1, "vodafone"),
        OperatorEntry(2, "tele2"),
        OperatorEntry(2, "beeline"),
        OperatorEntry(2, "activ"),
        OperatorEntry(2, "altel"),
        OperatorEntry(22, "jio"),
        OperatorEntry(22, "airtel"),
    ]
    assert fake.calls[-1][1] == {"api_key": KEY, "action": "getOperators"}


@pytest.mark.parametrize(
    "body,expected",
    [
        ("OPERATORS_NOT_FOUND", []),
        ('{"status":"error","message":"OPERATORS_NOT_FOUND"}', []),
        (
            '{"status":"success","countryOperators":[["mts"],["life"]]}',
            [OperatorEntry(0, "mts"), OperatorEntry(1, "life")],
        ),
        ('{"status":"success","countryOperators":{"2":{"0":"beeline"}}}', [OperatorEntry(2, "beeline")]),
        ('{"status":"success","countryOperators":{}}', []),
    ],
)
def test_operators_reply_shapes(fake, client, body, expected):
    fake.next_response("getOperators", body)
    assert client.operators() == expected


@pytest.mark.parametrize(
    "body,error",
    [
        ("BAD_ACTION", Unsupported),  # a compatible upstream without getOperators
        ("BAD_KEY", ProviderBadKey),
        ("ERROR_SQL", ProviderError),
        ('{"status":"success"}', BadResponse),
        ('{"status":"success","countryOperators":{"x":["mts"]}}', BadResponse),
        ('{"status":"success","countryOperators":{"1":"mts"}}', BadResponse),
        ('{"status":"success","countryOperators":{"1":[""]}}', BadResponse),
        ("<html>502</html>", BadResponse),
    ],
)
def test_operators_errors(fake, client, body, error):
    fake.next_response("getOperators", body)
    with pytest.raises(error):
        client.operators()


def test_buy_forwards_operator_and_phone_exception(fake, client):
    fake.set_operators(22, ["airtel", "jio"])
    purchase = client.buy(BuyRequest(service="tg", country=22, operator="vi,jio", phone_exception=("9191", "9181")))
    params = fake.calls[-1][1]
    assert (params["operator"], params["phoneException"]) == ("vi,jio", "9191,9181")
    assert purchase.operator == "jio"
    # The fake honours the prefixes: its first choice (91 9...) is excluded, so is 91 8...
    assert purchase.phone.startswith("917") and fake.activations[int(purchase.upstream_id)].operator == "jio"


def test_buy_refused_prefixes_are_the_upstreams_wrong_exception_phone(fake, client):
    fake.next_response("getNumberV2", "WRONG_EXCEPTION_PHONE")
    with pytest.raises(ProviderError) as caught:
        client.buy(BuyRequest(service="tg", country=22, phone_exception=("7918",)))
    assert caught.value.raw == "WRONG_EXCEPTION_PHONE"
