"""OtpBuddyClient against the fake OTPBuddy server over real HTTP: every action, every documented token, garbage."""

from decimal import Decimal

import pytest

from upstream.providers.base import (
    BadResponse,
    BuyRequest,
    CountryEntry,
    NoNumbers,
    PriceEntry,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderUnavailable,
    ServiceEntry,
    SetStatus,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.providers.otpbuddy import NOOP, ServerEntry

pytestmark = pytest.mark.django_db

from tests.upstream.otpbuddy.conftest import BNE_INDIA, KEY  # noqa: E402

OB_ID = "687d51e19c5297335bb10161"
CALLS = {
    "getBalance": lambda c: c.balance(),
    "getNumber": lambda c: c.buy(BNE_INDIA),
    "getStatus": lambda c: c.status(OB_ID),
    "setStatus": lambda c: c.set_status(OB_ID, SetStatus.CANCEL),
    "getPrices": lambda c: c.prices(country=22),
    "getCountries": lambda c: c.countries(),
    "getServices": lambda c: c.services(),
    "getServers": lambda c: c.servers(),
}

# --- buying ---------------------------------------------------------------------------------------


def test_buy_sends_service_country_and_server_and_parses_the_hex_id(fake, client):
    request = BuyRequest(service="bne", country=22, max_price=Decimal("1"), operator="jio", order_ref="ord-1")
    purchase = client.buy(request)
    assert fake.calls == [
        ("getNumber", {"api_key": KEY, "action": "getNumber", "service": "bne", "country": "22", "server_id": "1"})
    ]
    assert purchase.upstream_id in fake.activations and len(purchase.upstream_id) == 24
    assert purchase.phone.startswith("91") and purchase.phone.isdigit()
    assert purchase.cost is None and purchase.operator == "any"
    assert purchase.raw == f"ACCESS_NUMBER:{purchase.upstream_id}:{purchase.phone}"
    assert fake.balance == Decimal("987.00")


def test_buy_uses_the_configured_server_and_passes_the_service_code_through(fake, make_client):
    purchase = make_client(server_id="2").buy(BuyRequest(service="aaz", country=22))
    assert fake.calls[-1][1]["server_id"] == "2" and fake.calls[-1][1]["service"] == "aaz"
    assert fake.activations[purchase.upstream_id].server == "2"
    with pytest.raises(NoNumbers):  # bne is on server 1 only: the wrong server has none
        make_client(slot=2, server_id=2).buy(BuyRequest(service="bne", country=22))


def test_buy_without_server_id_leaves_it_out_and_gets_the_default_server(fake, make_client):
    purchase = make_client().buy(BNE_INDIA)
    assert "server_id" not in fake.calls[-1][1] and fake.activations[purchase.upstream_id].server == "1"


def test_buy_takes_the_cheapest_price_with_stock(fake, client):
    fake.set_offer(22, "bne", "11.00", 0)
    fake.set_offer(22, "bne", "12.00", 1)
    first, second = client.buy(BNE_INDIA), client.buy(BNE_INDIA)
    assert [fake.activations[p.upstream_id].cost for p in (first, second)] == [Decimal("12.00"), Decimal("13.00")]


@pytest.mark.parametrize("server_id", ["abc", "0", -1, True, 1.5, [1], "1; DROP"])
def test_a_bad_server_id_is_a_config_error_before_any_request(fake, make_client, server_id):
    client = make_client(server_id=server_id)
    for call in (lambda: client.buy(BNE_INDIA), client.countries, client.services, client.prices):
        with pytest.raises(ProviderUnavailable, match="server_id"):
            call()
    assert fake.calls == []


def test_buy_errors_from_the_fakes_own_rules(fake, make_client):
    client = make_client(server_id=1)
    with pytest.raises(NoNumbers):
        client.buy(BuyRequest(service="aaz", country=22))  # a known service, no stock on this server
    for request, token in [
        (BuyRequest(service="zz", country=22), "BAD_SERVICE"),
        (BuyRequest(service="bne", country=66), "BAD_COUNTRY"),
    ]:
        with pytest.raises(ProviderError) as caught:
            client.buy(request)
        assert type(caught.value) is ProviderError and caught.value.raw == token
    with pytest.raises(ProviderError) as bad_server:
        make_client(slot=2, server_id=77).buy(BNE_INDIA)
    assert type(bad_server.value) is ProviderError and bad_server.value.raw == "BAD_SERVER"
    fake.balance = "12.99"
    with pytest.raises(ProviderNoBalance):
        client.buy(BNE_INDIA)
    with pytest.raises(ProviderBadKey):
        make_client(slot=3, key="wrong-key").buy(BNE_INDIA)
    assert fake.activations == {}


@pytest.mark.parametrize(
    "body, error",
    [
        ("NO_NUMBERS", NoNumbers),
        ("BAD_SERVICE", ProviderError),
        ("BAD_SERVER", ProviderError),
        ("BAD_COUNTRY", ProviderError),
        ("NO_BALANCE", ProviderNoBalance),
        ("ERROR", ProviderError),
        ("BAD_KEY", ProviderBadKey),
        ("SOMETHING_NEW", BadResponse),
        ("ACCESS_NUMBER:687d51e19c5297335bb10161", BadResponse),
        ("ACCESS_NUMBER::919067545744", BadResponse),
        ("ACCESS_NUMBER:687d51e1 9c52:919067545744", BadResponse),
        ("ACCESS_NUMBER:687d51e19c5297335bb10161:91906754574x", BadResponse),
        ("ACCESS_CANCEL", BadResponse),
        ('{"status":"ok"}', BadResponse),
    ],
)
def test_buy_maps_every_token(fake, client, body, error):
    fake.next_response("getNumber", body)
    with pytest.raises(ProviderError) as caught:
        client.buy(BNE_INDIA)
    assert type(caught.value) is error and caught.value.raw == body


@pytest.mark.parametrize(
    "body",
    [
        f"ACCESS_NUMBER:{OB_ID}:919067545744",
        f"\ufeffACCESS_NUMBER:{OB_ID}:+919067545744\r\n",
        f"{{\n    ACCESS_NUMBER:{OB_ID}:919067545744\n}}",  # as the document prints it
    ],
)
def test_buy_accepts_the_documented_forms(fake, client, body):
    fake.next_response("getNumber", body)
    purchase = client.buy(BNE_INDIA)
    assert (purchase.upstream_id, purchase.phone) == (OB_ID, "919067545744")


# --- one activation ------------------------------------------------------------------------------


def test_status_waiting_then_code_then_still_code(fake, client):
    purchase = client.buy(BNE_INDIA)
    waiting = client.status(purchase.upstream_id)
    assert (waiting.state, waiting.code, waiting.raw) == (UpstreamState.WAITING, None, "STATUS_WAIT_CODE")
    assert fake.calls[-1] == ("getStatus", {"api_key": KEY, "action": "getStatus", "id": purchase.upstream_id})
    fake.deliver_sms(purchase.upstream_id, "498759")
    result = client.status(purchase.upstream_id)
    assert (result.state, result.code, result.text) == (UpstreamState.CODE, "498759", None)
    assert result.raw == "STATUS_OK:498759"


def test_status_after_cancel_and_of_an_unknown_id(fake, client):
    purchase = client.buy(BNE_INDIA)
    client.set_status(purchase.upstream_id, SetStatus.CANCEL)
    assert client.status(purchase.upstream_id).state == UpstreamState.CANCELLED
    with pytest.raises(ProviderError) as caught:
        client.status("ffffffffffffffffffffffff")
    assert type(caught.value) is ProviderError and caught.value.raw == "ERROR"


@pytest.mark.parametrize(
    "body, error",
    [
        ("ERROR", ProviderError),
        ("BAD_KEY", ProviderBadKey),
        ("NO_ACTIVATION", UnknownActivation),
        ("WRONG_ACTIVATION_ID", UnknownActivation),
        ("STATUS_OK:", BadResponse),
        ("STATUS_OK", BadResponse),
        ("STATUS_WAIT_RETRY:1234", BadResponse),
        ("ACCESS_CANCEL", BadResponse),
        ("status_wait_code", BadResponse),
    ],
)
def test_status_maps_every_token(fake, client, body, error):
    fake.next_response("getStatus", body)
    with pytest.raises(ProviderError) as caught:
        client.status(OB_ID)
    assert type(caught.value) is error and caught.value.raw == body


def test_cancel_sends_only_the_id_and_refunds_then_reports_already_cancelled(fake, client):
    purchase = client.buy(BNE_INDIA)
    assert client.set_status(purchase.upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert fake.calls[-1] == ("setStatus", {"api_key": KEY, "action": "setStatus", "id": purchase.upstream_id})
    assert fake.activations[purchase.upstream_id].status == "cancelled" and fake.balance == Decimal("1000.00")
    assert client.set_status(purchase.upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL_ALREADY"


def test_cancel_after_an_sms_is_refused_as_approved(fake, client):
    purchase = client.buy(BNE_INDIA)
    fake.deliver_sms(purchase.upstream_id, "1234")
    with pytest.raises(ProviderError) as caught:
        client.set_status(purchase.upstream_id, SetStatus.CANCEL)
    assert type(caught.value) is ProviderError and caught.value.raw == "ACCESS_APPROVED"
    assert fake.activations[purchase.upstream_id].status == "code" and fake.balance == Decimal("987.00")


@pytest.mark.parametrize(
    "body, error",
    [
        ("ERROR", ProviderError),
        ("BAD_KEY", ProviderBadKey),
        ("NO_ACTIVATION", UnknownActivation),
        ("ACCESS_APPROVED", ProviderError),
        ("ACCESS_READY", BadResponse),
        ("ACCESS_CANCEL:1", BadResponse),
    ],
)
def test_cancel_maps_every_token(fake, client, body, error):
    fake.next_response("setStatus", body)
    with pytest.raises(ProviderError) as caught:
        client.set_status(OB_ID, SetStatus.CANCEL)
    assert type(caught.value) is error and caught.value.raw == body


def test_finish_and_ready_send_nothing_and_retry_is_unsupported(fake, client):
    purchase = client.buy(BNE_INDIA)
    fake.deliver_sms(purchase.upstream_id, "1234")
    fake.clear_calls()
    assert client.set_status(purchase.upstream_id, SetStatus.FINISH) == NOOP
    assert client.set_status(purchase.upstream_id, SetStatus.READY) == NOOP
    with pytest.raises(Unsupported) as caught:
        client.set_status(purchase.upstream_id, SetStatus.RETRY)
    assert type(caught.value) is Unsupported and caught.value.raw == "UNSUPPORTED"
    assert fake.calls == []


def test_there_is_no_active_list(client):
    assert client.supports_active_list is False
    with pytest.raises(NotImplementedError):
        client.active_activations()


# --- catalogue and account -----------------------------------------------------------------------


def test_servers(fake, client):
    assert client.servers()[:2] == [
        ServerEntry(id="1", name="INDIAN SERVER 1 \U0001f1ee\U0001f1f3"),
        ServerEntry(id="2", name="INDIAN SERVER 2 \U0001f1ee\U0001f1f3"),
    ]
    assert fake.calls[-1] == ("getServers", {"api_key": KEY, "action": "getServers"})


def test_countries_of_the_configured_server(fake, make_client):
    fake.set_offer(0, "oht", "20", 1, server=2)
    assert make_client(server_id=2).countries() == [CountryEntry(0, "russia"), CountryEntry(22, "iNDIA")]
    assert fake.calls[-1][1] == {"api_key": KEY, "action": "getCountries", "server_id": "2"}
    with pytest.raises(ProviderError) as caught:
        make_client(slot=2, server_id=77).countries()
    assert caught.value.raw == "BAD_SERVER"


def test_countries_as_a_php_list(fake, client):
    fake.next_response("getCountries", '["russia","ukraine"]')
    assert client.countries() == [CountryEntry(0, "russia"), CountryEntry(1, "ukraine")]


def test_services_merge_every_country_of_the_server_with_names_stripped(fake, client):
    fake.set_offer(0, "apg", "5", 1)
    fake.set_offer(0, "bne", "5", 1)
    assert client.services() == [ServiceEntry("apg", "Mera Gaon"), ServiceEntry("bne", "Uber")]
    assert [(a, p.get("country")) for a, p in fake.calls] == [
        ("getCountries", None),
        ("getServices", "0"),
        ("getServices", "22"),
    ]


def test_prices_cheapest_in_stock_with_counts_summed(fake, client):
    fake.set_offer(22, "bne", "11.00", 0)
    fake.set_offer(22, "bne", "12.50", 2)
    fake.set_offer(22, "oht", "7.00", 0)
    fake.set_offer(22, "oht", "8.00", 0)
    entries = client.prices(country=22)
    assert entries == [PriceEntry(22, "bne", Decimal("12.50"), 7), PriceEntry(22, "oht", Decimal("7.00"), 0)]
    assert all(isinstance(entry.cost, Decimal) for entry in entries)
    assert fake.calls == [
        ("getPrices", {"api_key": KEY, "action": "getPrices", "country": "22", "server_id": "1"}),
    ]
    assert client.prices(country=22, service="oht") == [PriceEntry(22, "oht", Decimal("7.00"), 0)]


def test_prices_of_every_country_skip_those_the_server_refuses(fake, client):
    fake.set_offer(0, "apg", "5", 1)
    fake.next_response("getCountries", '{"0":"russia","1":"ukraine","22":"iNDIA"}')
    assert client.prices() == [PriceEntry(0, "apg", Decimal("5.00"), 1), PriceEntry(22, "bne", Decimal("13.00"), 5)]
    assert [p.get("country") for _, p in fake.calls] == [None, "0", "1", "22"]
    with pytest.raises(ProviderError) as caught:  # one country asked for: BAD_SERVER is an error
        client.prices(country=1)
    assert caught.value.raw == "BAD_SERVER"


def test_configured_countries_replace_get_countries(fake, make_client):
    client = make_client(server_id=1, countries=[22])
    assert client.prices() == [PriceEntry(22, "bne", Decimal("13.00"), 5)]
    assert client.services() == [ServiceEntry("bne", "Uber")]
    assert fake.actions() == ["getPrices", "getServices"]
    with pytest.raises(ProviderUnavailable, match="countries"):
        make_client(slot=2, countries="22").prices()


@pytest.mark.parametrize(
    "body",
    [
        '{"22":{"bne":{"13.00":"ten"}}}',
        '{"22":{"bne":{"cheap":"1"}}}',
        '{"22":{"bne":{"13.00":"-1"}}}',
        '{"22":{"bne":{"-13.00":"1"}}}',
        '{"22":{"bne":{"NaN":"1"}}}',
        '{"22":{"bne":{"13.00":"1.5"}}}',
        '{"22":{"bne":{"13.00":true}}}',
        '{"22":{"bne":"13.00"}}',
        '{"22":{"bne":{}}}',
        '{"22":{"":{"9":"1"}}}',
        '{"22":["bne"]}',
        '{"india":{}}',
        '"13.00"',
        "[1]",
        "{not json",
    ],
)
def test_prices_garbage_is_bad_response(fake, client, body):
    fake.next_response("getPrices", body)
    with pytest.raises(BadResponse):
        client.prices(country=22)


def test_empty_php_arrays_are_empty_tables(fake, client):
    fake.next_response("getPrices", '{"22":{"bne":[],"oht":{"9":"1"}}}')
    assert client.prices(country=22) == [PriceEntry(22, "oht", Decimal("9"), 1)]
    fake.next_response("getPrices", "[]")
    assert client.prices(country=22) == []


@pytest.mark.parametrize(
    "action, body, error",
    [
        ("getServers", '{"INDIAN SERVER 1":"one"}', BadResponse),
        ("getServers", '["1"]', BadResponse),
        ("getServers", "ERROR", ProviderError),
        ("getCountries", '{"x":"russia"}', BadResponse),
        ("getCountries", '{"0":{"eng":"Russia"}}', BadResponse),
        ("getCountries", "ERROR", ProviderError),
        ("getServices", '{"bne":1}', BadResponse),
        ("getServices", '{" ":"blank"}', BadResponse),
        ("getServices", "ERROR", ProviderError),
        ("getPrices", "ERROR", ProviderError),
    ],
)
def test_catalogue_tokens_and_garbage(fake, make_client, action, body, error):
    client = make_client(server_id=1, countries=[22])
    fake.next_response(action, body)
    with pytest.raises(ProviderError) as caught:
        CALLS[action](client)
    assert type(caught.value) is error


@pytest.mark.parametrize(
    "body, expected",
    [
        (None, Decimal("1000.00")),  # the fake's own reply
        ("ACCESS_BALANCE:-3.25", Decimal("-3.25")),
        ("BAD_KEY", ProviderBadKey),
        ("ERROR", ProviderError),
        ("ACCESS_BALANCE:", BadResponse),
        ("ACCESS_BALANCE:12,50", BadResponse),
        ("ACCESS_BALANCE:Infinity", BadResponse),
        ("BALANCE:10", BadResponse),
    ],
)
def test_balance(fake, client, body, expected):
    if body is not None:
        fake.next_response("getBalance", body)
    if isinstance(expected, Decimal):
        assert client.balance() == expected
        return
    with pytest.raises(ProviderError) as caught:
        client.balance()
    assert type(caught.value) is expected


# --- garbage on every action ---------------------------------------------------------------------


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize(
    "body, status",
    [
        ("<!DOCTYPE html><html><body>Cloudflare</body></html>", 200),
        ("", 200),
        (" \r\n\ufeff", 200),
        ("Internal Server Error", 500),
        ("<html>502 Bad Gateway</html>", 502),
        ("ACCESS_CANCEL", 503),
    ],
)
def test_garbage_is_bad_response(fake, make_client, action, body, status):
    client = make_client(server_id=1, countries=[22])
    fake.next_response(action, body, status=status)
    with pytest.raises(BadResponse):
        CALLS[action](client)
    assert action in fake.actions()
