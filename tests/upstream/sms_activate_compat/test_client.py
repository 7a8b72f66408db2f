"""SmsActivateCompatClient against the fake variant server over real HTTP.

Buying with the extras, the activation lifecycle, the price tables, every documented error token,
and garbage. The transport itself (timeouts, redirects, key hygiene) is http.py's, tested with
SmsActivateClient in tests/upstream/sms_activate/test_transport.py.
"""

from decimal import Decimal

import pytest

from tests.upstream.sms_activate_compat.conftest import KEY, TG_INDIA
from upstream.models import Country, Offer, Service
from upstream.providers import base
from upstream.providers.base import (
    BadResponse,
    BuyRequest,
    CancelTooEarly,
    CountryEntry,
    MaxPriceRefused,
    NoNumbers,
    PriceEntry,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    ServiceEntry,
    SetStatus,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.services import catalogue_sync

pytestmark = pytest.mark.django_db

# --- buying ---------------------------------------------------------------------------------------


def test_buy_v2_sends_every_extra_and_nothing_undocumented(fake, make_client):
    client = make_client(provider_ids=[3, "7"], except_provider_ids="7", phone_exception=["919", 9181])
    request = BuyRequest(service="tg", country=22, max_price=Decimal("1.3E+1"), operator="jio", order_ref="ord-1")
    purchase = client.buy(request)
    expected = {"api_key": KEY, "action": "getNumberV2", "service": "tg", "country": "22", "maxPrice": "13"}
    expected |= {"providerIds": "3,7", "exceptProviderIds": "7", "phoneException": "919,9181"}  # no operator, orderId
    assert fake.calls == [("getNumberV2", expected)]
    assert purchase.upstream_id.isdigit() and purchase.cost == Decimal("12.5") and purchase.operator == "any"
    assert purchase.phone.startswith("917") and purchase.phone.isdigit()  # 919... and 918... were excluded
    assert fake.activations[int(purchase.upstream_id)].provider_id == 3
    assert fake.balance == Decimal("987.50")


@pytest.mark.parametrize(
    "config, cost, provider_id, sent",
    [
        ({}, "12.50", 3, set()),  # the cheapest with stock: 4 is sold out
        ({"provider_ids": [7]}, "15", 7, {"providerIds"}),
        ({"provider_ids": "3, 4"}, "12.50", 3, {"providerIds"}),
        ({"except_provider_ids": [3]}, "15", 7, {"exceptProviderIds"}),
        ({"provider_ids": [], "except_provider_ids": "", "phone_exception": None}, "12.50", 3, set()),
    ],
)
def test_provider_filters_choose_the_upstream_provider(fake, make_client, config, cost, provider_id, sent):
    purchase = make_client(**config).buy(TG_INDIA)
    assert purchase.cost == Decimal(cost)
    assert fake.activations[int(purchase.upstream_id)].provider_id == provider_id
    assert set(fake.calls[-1][1]) == {"api_key", "action", "service", "country"} | sent


def test_buy_v1_sends_the_extras_and_parses_access_number(fake, make_client):
    client = make_client(use_v2=False, phone_exception="919,918,917", except_provider_ids=[3])
    purchase = client.buy(BuyRequest(service="tg", country=22, max_price=Decimal("20"), order_ref="ord-1"))
    assert purchase.raw == f"ACCESS_NUMBER:{purchase.upstream_id}:{purchase.phone}"
    assert purchase.cost is None and purchase.phone.startswith("916")
    action, params = fake.calls[-1]
    assert action == "getNumber" and params["phoneException"] == "919,918,917" and params["exceptProviderIds"] == "3"
    assert "orderId" not in params and fake.activations[int(purchase.upstream_id)].provider_id == 7


@pytest.mark.parametrize(
    "config",
    [{"provider_ids": "1,a"}, {"provider_ids": [1.5]}, {"except_provider_ids": {"3": True}}]
    + [{"phone_exception": [True]}, {"phone_exception": "+7918"}],
)
def test_misconfigured_extras_send_nothing(fake, make_client, config):
    with pytest.raises(ProviderUnavailable):
        make_client(**config).buy(TG_INDIA)
    assert fake.calls == []


def test_buy_errors_from_the_fake(fake, make_client):
    client = make_client()
    with pytest.raises(NoNumbers):  # below every price: this variant says NO_NUMBERS, not WRONG_MAX_PRICE
        client.buy(BuyRequest(service="tg", country=22, max_price=Decimal("12.49")))
    with pytest.raises(NoNumbers):
        make_client(slot=2, provider_ids=[4]).buy(TG_INDIA)  # only the sold-out provider
    with pytest.raises(NoNumbers):
        make_client(slot=3, phone_exception="91").buy(TG_INDIA)  # every Indian number excluded
    with pytest.raises(ProviderError) as bad_service:
        client.buy(BuyRequest(service="zz", country=22))
    assert type(bad_service.value) is ProviderError and bad_service.value.raw == "BAD_SERVICE"
    fake.balance = "1.00"
    with pytest.raises(ProviderNoBalance):
        client.buy(TG_INDIA)
    with pytest.raises(ProviderBadKey):
        make_client(slot=4, key="wrong-key").buy(TG_INDIA)
    assert fake.activations == {}


@pytest.mark.parametrize("use_v2", [True, False])
@pytest.mark.parametrize(
    "body, error",
    [("BAD_KEY", ProviderBadKey), ("BAD_ACTION", ProviderError), ("BAD_SERVICE", ProviderError)]
    # SMS-Activate's, which this variant is compatible with
    + [("NO_NUMBERS", NoNumbers), ("NO_BALANCE", ProviderNoBalance), ("WRONG_MAX_PRICE:15.5", MaxPriceRefused)]
    + [(garbage, BadResponse) for garbage in ("SOMETHING_NEW", "ACCESS_NUMBER:abc:919000000001", "ACCESS_NUMBER:1:")],
)
def test_buy_maps_every_documented_token(fake, make_client, use_v2, body, error):
    fake.next_response("getNumberV2" if use_v2 else "getNumber", body)
    with pytest.raises(ProviderError) as caught:
        make_client(use_v2=use_v2).buy(TG_INDIA)
    assert type(caught.value) is error and caught.value.raw == body


def test_buy_v2_bad_objects(fake, client):
    for body in ('{"activationId":"id","phoneNumber":919000000001}', '{"phoneNumber":919000000001}', "[]"):
        fake.next_response("getNumberV2", body, content_type="application/json")
        with pytest.raises(BadResponse) as caught:
            client.buy(TG_INDIA)
        assert caught.value.raw == body


# --- one activation -------------------------------------------------------------------------------


def test_status_code_another_sms_and_finish(fake, client):
    upstream_id = client.buy(TG_INDIA).upstream_id
    assert client.status(upstream_id).state == UpstreamState.WAITING
    assert client.set_status(upstream_id, SetStatus.READY) == "ACCESS_READY"
    fake.deliver_sms(upstream_id, "123456", "Your Telegram code: 123456")
    first = client.status(upstream_id)
    assert (first.state, first.code, first.text, first.raw) == (UpstreamState.CODE, "123456", None, "STATUS_OK:123456")
    assert client.set_status(upstream_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"
    retry = client.status(upstream_id)
    assert (retry.state, retry.code, retry.raw) == (UpstreamState.WAIT_RETRY, None, "STATUS_WAIT_RESEND")
    fake.deliver_sms(upstream_id, "654321")
    assert (client.status(upstream_id).state, client.status(upstream_id).code) == (UpstreamState.CODE, "654321")
    assert client.set_status(upstream_id, SetStatus.FINISH) == "ACCESS_ACTIVATION"
    assert client.status(upstream_id).state == UpstreamState.CANCELLED
    assert fake.activations[int(upstream_id)].status == "finished"
    assert "getStatusV2" not in fake.actions()  # not in this protocol


def test_cancel_refunds_upstream(fake, client):
    upstream_id = client.buy(TG_INDIA).upstream_id
    assert client.set_status(upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert client.status(upstream_id).state == UpstreamState.CANCELLED
    assert fake.balance == Decimal("1000") and fake.calls[-2][1]["status"] == "8"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("STATUS_WAIT_CODE", (UpstreamState.WAITING, None)),
        ("STATUS_WAIT_RESEND", (UpstreamState.WAIT_RETRY, None)),
        ("STATUS_WAIT_RETRY:4321", (UpstreamState.WAIT_RETRY, "4321")),
        ("STATUS_CANCEL\n", (UpstreamState.CANCELLED, None)),
        ("STATUS_OK: 8812", (UpstreamState.CODE, "8812")),
        ("BAD_KEY", ProviderBadKey),
        ("BAD_ACTION", ProviderError),
        ("NO_ACTIVATION", UnknownActivation),
    ]
    + [(garbage, BadResponse) for garbage in ("STATUS_OK:", "STATUS_WAIT", "ACCESS_READY", "BAD_COUNTRYX")],
)
def test_status_maps_every_documented_token(fake, client, body, expected):
    fake.next_response("getStatus", body)
    if isinstance(expected, tuple):
        result = client.status("1")
        assert (result.state, result.code) == expected
        return
    with pytest.raises(ProviderError) as caught:
        client.status("1")
    assert type(caught.value) is expected and caught.value.raw == body


@pytest.mark.parametrize(
    "body, error",
    [("NO_ACTIVATION", UnknownActivation), ("BAD_KEY", ProviderBadKey), ("EARLY_CANCEL_DENIED", CancelTooEarly)]
    + [(token, ProviderError) for token in ("BAD_SERVICE", "BAD_STATUS", "BAD_ACTION")]
    + [("ACCESS_MAYBE", BadResponse)],
)
def test_set_status_maps_every_documented_token(fake, client, body, error):
    fake.next_response("setStatus", body)
    with pytest.raises(ProviderError) as caught:
        client.set_status("1", SetStatus.CANCEL)
    assert type(caught.value) is error and caught.value.raw == body


def test_set_status_errors_from_the_fake(fake, client):
    with pytest.raises(UnknownActivation):
        client.set_status("999", SetStatus.CANCEL)
    with pytest.raises(UnknownActivation) as not_a_number:
        client.status("abc")
    assert not_a_number.value.raw == "NO_ACTIVATION"
    upstream_id = client.buy(TG_INDIA).upstream_id
    for status in (SetStatus.RETRY, SetStatus.FINISH):  # both need a code first
        with pytest.raises(ProviderError) as refused:
            client.set_status(upstream_id, status)
        assert type(refused.value) is ProviderError and refused.value.raw == "BAD_STATUS"
    fake.early_cancel_seconds = 120
    with pytest.raises(CancelTooEarly):
        client.set_status(upstream_id, SetStatus.CANCEL)
    assert fake.activations[int(upstream_id)].status == "waiting"


def test_there_is_no_active_list(fake, client):
    assert client.supports_active_list is False
    with pytest.raises(NotImplementedError):
        client.active_activations()
    assert fake.calls == []


# --- prices, catalogue, balance -------------------------------------------------------------------


def test_prices_per_provider_by_default(fake, client):
    fake.set_offer(66, "wa", "30", 0, provider_id=2)
    assert client.prices() == [PriceEntry(22, "tg", Decimal("12.5"), 7), PriceEntry(66, "wa", Decimal("30"), 0)]
    assert client.prices(country=66, service="wa") == [PriceEntry(66, "wa", Decimal("30"), 0)]
    assert fake.actions() == ["getPricesV3"] * 2 and [params.get("country") for _, params in fake.calls] == [None, "66"]


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"provider_ids": [4, 7]}, PriceEntry(22, "tg", Decimal("15"), 2)),
        ({"except_provider_ids": "3"}, PriceEntry(22, "tg", Decimal("15"), 2)),
        ({"provider_ids": "4"}, PriceEntry(22, "tg", Decimal("9"), 0)),
        ({"prices_action": "getPricesV2", "provider_ids": [7]}, PriceEntry(22, "tg", Decimal("12.5"), 7)),
        ({"prices_action": "getPrices"}, PriceEntry(22, "tg", Decimal("12.5"), 7)),
    ],
)
def test_prices_follow_the_provider_filters_where_the_table_can(fake, make_client, config, expected):
    assert make_client(**config).prices() == [expected]
    assert fake.actions() == [config.get("prices_action", "getPricesV3")]


def test_prices_of_country_zero_come_as_a_php_list(fake, client):
    fake.set_offer(0, "tg", "7", 3, provider_id=1)
    assert fake.state.handle({"api_key": KEY, "action": "getPricesV3", "country": "0"})[1].startswith("[{")
    assert client.prices(country=0) == [PriceEntry(0, "tg", Decimal("7"), 3)]
    assert client.prices(country=187) == []  # the fake answers PHP's empty array, []


@pytest.mark.parametrize(
    "action, body, expected",
    [
        ("getPricesV2", '{"22":{"tg":{"9.5":0,"12.50":"3","15":2}}}', [PriceEntry(22, "tg", Decimal("12.50"), 5)]),
        ("getPricesV2", '{"22":{"tg":{"9.5":0}},"0":{"wa":[]}}', [PriceEntry(22, "tg", Decimal("9.5"), 0)]),
        ("getPricesV2", '{"0":[]}', []),
        (
            "getPricesV3",
            '{"6":{"go":{"11":{"count":4,"price":"0.30","provider_id":11},'
            '"12":{"count":"9","price":0.25,"provider_id":"12"}}}}',
            [PriceEntry(6, "go", Decimal("0.25"), 13)],
        ),
        (
            "getPricesV3",
            '[{"tg":[{"count":1,"price":2,"provider_id":0},{"count":0,"price":1,"provider_id":1}]}]',
            [PriceEntry(0, "tg", Decimal("2"), 1)],
        ),
        ("getPricesV3", "[]", []),
    ],
)
def test_price_tables_as_the_document_shows_them(fake, make_client, action, body, expected):
    fake.next_response(action, body, content_type="application/json")
    assert make_client(prices_action=action).prices() == expected


@pytest.mark.parametrize(
    "action, body",
    [
        ("getPricesV2", '{"22":{"tg":{"abc":1}}}'),
        ("getPricesV2", '{"22":{"tg":{"9.5":"1.5"}}}'),
        ("getPricesV2", '{"22":{"tg":{"9.5":-1}}}'),
        ("getPricesV2", '{"22":{"tg":{"-9.5":1}}}'),
        ("getPricesV2", '{"22":{"tg":[3]}}'),
        ("getPricesV2", '{"22":{"tg":{"cost":1,"count":2}}}'),
        ("getPricesV2", '{"india":{"tg":{"1":1}}}'),
        ("getPricesV2", '{"22":["tg"]}'),
        ("getPricesV2", '"22"'),
        ("getPricesV3", '{"22":{"tg":{"3":{"count":1,"price":2}}}}'),
        ("getPricesV3", '{"22":{"tg":{"3":{"count":1,"price":2,"provider_id":4}}}}'),
        ("getPricesV3", '{"22":{"tg":{"3":{"count":1,"price":"x","provider_id":3}}}}'),
        ("getPricesV3", '{"22":{"tg":{"3":{"count":true,"price":2,"provider_id":3}}}}'),
        ("getPricesV3", '{"22":{"tg":{"3":[1,2,3]}}}'),
        ("getPricesV3", '{"22":{"tg":{"3":{"count":1,"price":NaN,"provider_id":3}}}}'),
        ("getPricesV3", '{"22":{"tg":5}}'),
        ("getPricesV3", '{"22":{"":{}}}'),
    ],
)
def test_bad_price_tables_are_bad_responses(fake, make_client, action, body):
    fake.next_response(action, body, content_type="application/json")
    with pytest.raises(BadResponse) as caught:
        make_client(prices_action=action).prices()
    assert caught.value.raw == body


@pytest.mark.parametrize("action", ["getPricesV3", "getPricesV2", "getPrices"])
@pytest.mark.parametrize(
    "body, error",
    [("BAD_KEY", ProviderBadKey), ('{"status":"error","message":"BAD_KEY"}', ProviderBadKey)]
    + [(token, ProviderError) for token in ("BAD_ACTION", "BAD_SERVICE", "BAD_COUNTRY")],
)
def test_prices_map_every_documented_token(fake, make_client, action, body, error):
    fake.next_response(action, body)
    with pytest.raises(ProviderError) as caught:
        make_client(prices_action=action).prices()
    assert type(caught.value) is error and caught.value.raw == ("BAD_KEY" if body.startswith("{") else body)


def test_prices_errors_from_the_fake(fake, make_client):
    with pytest.raises(ProviderError) as bad_country:
        make_client().prices(country=999)
    assert type(bad_country.value) is ProviderError and bad_country.value.raw == "BAD_COUNTRY"
    with pytest.raises(ProviderError) as bad_service:
        make_client(slot=2, prices_action="getPricesV2").prices(service="zz")
    assert bad_service.value.raw == "BAD_SERVICE"
    with pytest.raises(ProviderBadKey):
        make_client(slot=3, key="wrong-key").prices()
    with pytest.raises(ProviderUnavailable):
        make_client(slot=4, prices_action="getPricesV9").prices()
    assert "getPricesV9" not in fake.actions()


def test_countries_and_services_are_empty_where_the_server_has_no_list(fake, client):
    assert client.countries() == [] and client.services() == []  # the fake answers BAD_ACTION
    fake.next_response("getCountries", '{"22":{"id":22,"rus":"x","eng":"India"}}')
    fake.next_response("getServicesList", '{"status":"success","services":[{"code":"tg","name":"Telegram"}]}')
    assert client.countries() == [CountryEntry(22, "India")] and client.services() == [ServiceEntry("tg", "Telegram")]
    fake.next_response("getCountries", "BAD_KEY")
    with pytest.raises(ProviderBadKey):
        client.countries()
    fake.next_response("getServicesList", "<html>no</html>")
    with pytest.raises(BadResponse):
        client.services()


def test_catalogue_sync_works_without_country_and_service_lists(fake, make_client, monkeypatch):
    monkeypatch.setitem(
        base.CLIENTS, "smsactivate-compat", "upstream.providers.sms_activate_compat.SmsActivateCompatClient"
    )
    Country.objects.get_or_create(id=22, defaults={"name": "India"})
    Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})
    provider = make_client(provider_ids=[4, 7]).provider
    result = catalogue_sync(provider=provider)
    assert (result.offers_created, result.balance) == (1, Decimal("1000"))
    offer = Offer.objects.get(provider=provider, country_id=22, service__code="tg")
    assert (offer.cost, offer.stock) == (Decimal("15"), 2)


def test_balance(fake, make_client):
    client = make_client()
    assert client.balance() == Decimal("1000.00")
    client.buy(TG_INDIA)
    assert client.balance() == Decimal("987.50")
    with pytest.raises(ProviderBadKey):
        make_client(slot=2, key="nope").balance()


# --- garbage --------------------------------------------------------------------------------------

CALLS = {
    "getBalance": lambda c: c.balance(),
    "getNumberV2": lambda c: c.buy(TG_INDIA),
    "getStatus": lambda c: c.status("1"),
    "setStatus": lambda c: c.set_status("1", SetStatus.FINISH),
    "getPricesV3": lambda c: c.prices(),
    "getCountries": lambda c: c.countries(),
}


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize(
    "body, status",
    [
        ("<!DOCTYPE html><html><body>Cloudflare</body></html>", 200),
        ("", 200),
        (" \r\n", 200),
        ("\ufeff", 200),
        ("SOMETHING_NEW", 200),
        ("Internal Server Error", 500),
        ("<html>502 Bad Gateway</html>", 502),
    ],
)
def test_garbage_is_bad_response(fake, client, action, body, status):
    fake.next_response(action, body, status=status)
    with pytest.raises(BadResponse) as caught:
        CALLS[action](client)
    if status != 200:
        assert caught.value.raw.startswith(f"HTTP {status}: ")


def test_a_dropped_purchase_is_an_unknown_outcome(fake, client):
    fake.next_disconnect("getNumberV2")
    with pytest.raises(ProviderTimeout):
        client.buy(TG_INDIA)


# --- operators and excluded prefixes (issue 11) ----------------------------------------------------


def test_customer_prefixes_join_the_rows_own(fake, make_client):
    client = make_client(phone_exception="9191")
    purchase = client.buy(BuyRequest(service="tg", country=22, phone_exception=("9181", "9191")))
    assert fake.calls[-1][1]["phoneException"] == "9191,9181"
    assert purchase.phone.startswith("917")
    plain = make_client(slot=2).buy(BuyRequest(service="tg", country=22, phone_exception=("9191",)))
    assert fake.calls[-1][1]["phoneException"] == "9191" and plain.phone.startswith("918")


def test_no_operator_list_in_the_variant(fake, client):
    with pytest.raises(Unsupported):
        client.operators()
    assert fake.calls == []
    assert not client.takes_operator and client.takes_phone_exception
