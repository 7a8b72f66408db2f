"""OtpGetCheapClient against the fake cheap_handler.php over real HTTP: buying, one order, setStatus,
every error token on every action, garbage and transport failures. Catalogue and balance: test_catalogue.py."""

import socket
from decimal import Decimal

import pytest

from tests.upstream.otpget_cheap.conftest import FACEBOOK, GARBAGE, KEY, TELEGRAM
from upstream.models import Provider
from upstream.providers import client_for
from upstream.providers.base import (
    BadResponse,
    BuyRequest,
    CancelTooEarly,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    SetStatus,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.providers.otpget_cheap import OtpGetCheapClient

pytestmark = pytest.mark.django_db

# Every token of the document's cheap_handler.php error table (+ STATUS_ALREADY_CHANGED, BAD_SERVICE).
ERRORS = [
    ("BAD_KEY", ProviderBadKey),
    ("ACCOUNT_BLOCKED", ProviderBadKey),
    ("BAD_ACTION", ProviderError),
    ("BAD_SERVER", ProviderError),
    ("BAD_TYPE", ProviderError),
    ("BAD_ID", UnknownActivation),
    ("BAD_STATUS", ProviderError),
    ("LOW_BALANCE", ProviderNoBalance),
    ("NO_NUMBERS", NoNumbers),
    ("NO_SERVERS", ProviderError),
    ("NO_SERVICES", ProviderError),
    ("NO_ACTIVATION", UnknownActivation),
    ("DATABASE_ERROR", ProviderError),
    ("EARLY_CANCEL_DENIED", CancelTooEarly),
    ("NO_SMS_RECEIVED", ProviderError),
    ("STATUS_ALREADY_CHANGED", ProviderError),
    ("BAD_SERVICE", ProviderError),
]
CALLS = {
    "buyNumber": lambda c: c.buy(TELEGRAM),
    "getStatus": lambda c: c.status("ORD_6830abc741_741"),
    "setStatus": lambda c: c.set_status("ORD_6830abc741_741", SetStatus.CANCEL),
    "getBalance": lambda c: c.balance(),
    "getServers": lambda c: c.services(),
}


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/stubs/cheap_handler.php"


def test_the_protocol_name_resolves_to_this_client(fake):
    provider = Provider.objects.create(slot=3, protocol="otpget-cheap", base_url=fake.url, api_key=KEY)
    client = client_for(provider)
    assert isinstance(client, OtpGetCheapClient) and client.protocol == "otpget-cheap"
    assert client.native_codes is False and client.supports_active_list is False
    with pytest.raises(NotImplementedError):
        client.active_activations()


# --- buying ---------------------------------------------------------------------------------------


def test_buy_from_a_one_service_server_sends_the_server_and_type_only(fake, client):
    request = BuyRequest(service="1", country=66, max_price=Decimal("1"), operator="jazz", order_ref="act-1")
    purchase = client.buy(request)
    assert (purchase.upstream_id, purchase.phone, purchase.cost) == ("ORD_6830abc741_741", "923000000741", None)
    assert purchase.raw == "ORD_6830abc741_741,923000000741,900"
    # no maxPrice, operator, order reference or country: the protocol has none
    assert fake.calls == [("buyNumber", {"api_key": KEY, "action": "buyNumber", "server": "1", "type": "1"})]
    assert fake.balance == Decimal("485.00") and fake.orders[purchase.upstream_id].service == "1"


def test_buy_one_service_of_a_server_selling_several(fake, client):
    purchase = client.buy(TELEGRAM)
    params = {"api_key": KEY, "action": "buyNumber", "server": "2", "service": "1", "type": "1"}
    assert fake.calls == [("buyNumber", params)]
    assert fake.orders[purchase.upstream_id].service == "1" and fake.balance == Decimal("450.00")


def test_type_comes_from_the_config_and_a_bad_type_sends_nothing(fake, make_client):
    client = make_client(config={"type": "2"})
    purchase = client.buy(BuyRequest(service="7", country=0))
    assert fake.orders[purchase.upstream_id].server == "7" and fake.calls[0][1]["type"] == "2"
    assert make_client(slot=2, config={}).buy(FACEBOOK).upstream_id  # type defaults to 1
    assert fake.calls[-1][1]["type"] == "1"
    fake.clear_calls()
    for bad in [7, 0, "x", True, None, 1.5]:
        client.provider.config = {"type": bad}
        with pytest.raises(ProviderUnavailable, match="config type must be 1-6"):
            client.buy(FACEBOOK)
    assert fake.calls == []


@pytest.mark.parametrize("code", ["", "t g", "2:", ":1", "2:1:3", "1 ", "a/b", "é"])
def test_a_code_outside_the_scheme_sends_nothing(fake, client, code):
    with pytest.raises(ProviderUnavailable, match="no otpget-cheap service code"):
        client.buy(BuyRequest(service=code, country=0))
    assert fake.calls == []


@pytest.mark.parametrize(
    ("setup", "request_", "error", "raw"),
    [
        (lambda f: None, BuyRequest(service="2:2", country=0), NoNumbers, "NO_NUMBERS"),
        (lambda f: setattr(f, "balance", "49.99"), TELEGRAM, ProviderNoBalance, "LOW_BALANCE"),
        (lambda f: setattr(f, "blocked", True), TELEGRAM, ProviderBadKey, "ACCOUNT_BLOCKED"),
        (lambda f: None, BuyRequest(service="9", country=0), ProviderError, "BAD_SERVER"),
        (lambda f: None, BuyRequest(service="7", country=0), ProviderError, "BAD_SERVER"),  # a type-2 server
        (lambda f: None, BuyRequest(service="2:9", country=0), ProviderError, "BAD_SERVICE"),
    ],
)
def test_buy_errors_from_the_fake(fake, client, setup, request_, error, raw):
    setup(fake)
    with pytest.raises(ProviderError) as caught:
        client.buy(request_)
    assert type(caught.value) is error and caught.value.raw == raw and fake.orders == {}


def test_a_wrong_key_is_bad_key(make_client):
    with pytest.raises(ProviderBadKey) as caught:
        make_client(key="wrong-key-0123456789").buy(TELEGRAM)
    assert caught.value.raw == "BAD_KEY"


@pytest.mark.parametrize(
    ("action", "token", "error"),
    [
        (action, token, error)
        for action in CALLS
        for token, error in ERRORS
        if (action, token) != ("getServers", "NO_SERVERS")  # an empty catalogue, not an error
    ],
)
def test_every_error_token_on_every_action(fake, make_client, action, token, error):
    client = make_client(config={"type": 1, "catalogue_cache_seconds": 0})
    fake.next_response("*", token)
    with pytest.raises(ProviderError) as caught:
        CALLS[action](client)
    assert type(caught.value) is error and caught.value.raw == token


@pytest.mark.parametrize(
    "body",
    [
        *GARBAGE,
        "ORD_abc,923001234,",
        "ORD_abc,923001234",
        "ORD_abc,923001234,900,1",
        ",923001234,900",
        "ORD abc,923001234,900",
        "ORD_abc,phone,900",
        "ORD_abc,123,900",
        "ORD_abc,923001234,15 min",
        "ACCESS_NUMBER:ORD_abc:923001234",
    ],
)
def test_buy_garbage_is_bad_response_with_the_body(fake, client, body):
    fake.next_response("buyNumber", body)
    with pytest.raises(BadResponse) as caught:
        client.buy(TELEGRAM)
    assert caught.value.raw == body


def test_a_phone_with_plus_and_a_padded_body_are_read(fake, client):
    fake.next_response("buyNumber", "\ufeff ORD_6830abc123_741, +923001234567 ,900\r\n")
    purchase = client.buy(TELEGRAM)
    assert (purchase.upstream_id, purchase.phone) == ("ORD_6830abc123_741", "923001234567")


@pytest.mark.parametrize("body", ["", "  \r\n", "\ufeff"])
def test_an_empty_body_is_bad_response(fake, client, body):
    for action in ("buyNumber", "getStatus", "setStatus", "getBalance", "getServers"):
        fake.next_response(action, body)
    calls = [lambda: client.buy(TELEGRAM), lambda: client.status("ORD_1"), client.balance, client.services]
    calls.append(lambda: client.set_status("ORD_1", SetStatus.CANCEL))
    for call in calls:
        with pytest.raises(BadResponse, match="empty reply"):
            call()


# --- transport failures (http.py) -------------------------------------------------------------------


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize(
    ("body", "status"), [("<!DOCTYPE html><html>Cloudflare</html>", 200), ("Bad Gateway", 502), ("", 404)]
)
def test_html_and_http_errors_are_bad_response(fake, client, action, body, status):
    fake.next_response(action, body, status=status)
    with pytest.raises(BadResponse):
        CALLS[action](client)


def test_no_answer_in_time_is_a_timeout(fake, make_client):
    client = make_client(config={"type": 1, "timeout_seconds": 0.2})
    fake.delay(1.0, actions=["buyNumber"])
    with pytest.raises(ProviderTimeout):
        client.buy(TELEGRAM)
    fake.delay(0)


def test_a_connection_dropped_after_the_request_is_a_timeout(fake, client):
    fake.next_disconnect("buyNumber")
    with pytest.raises(ProviderTimeout):
        client.buy(TELEGRAM)


def test_an_unreachable_upstream_is_unavailable(make_client):
    with pytest.raises(ProviderUnavailable):
        make_client(url=closed_port_url()).buy(TELEGRAM)


def test_the_api_key_is_never_in_an_error(fake, make_client):
    client = make_client(config={"type": 1, "timeout_seconds": 0.2})
    fake.delay(1.0, actions=["getStatus"])
    with pytest.raises(ProviderTimeout) as caught:
        client.status("ORD_1")
    assert KEY not in str(caught.value) and KEY not in caught.value.raw
    fake.delay(0)


# --- one order ------------------------------------------------------------------------------------


def test_status_waiting_code_and_cancel(fake, client):
    upstream_id = client.buy(TELEGRAM).upstream_id
    waiting = client.status(upstream_id)
    assert (waiting.state, waiting.code, waiting.raw) == (UpstreamState.WAITING, None, "STATUS_WAIT_CODE")
    fake.deliver_sms(upstream_id, "847293")
    got = client.status(upstream_id)
    assert (got.state, got.code, got.text, got.raw) == (UpstreamState.CODE, "847293", None, "STATUS_OK:847293")
    assert fake.calls[-1] == ("getStatus", {"api_key": KEY, "action": "getStatus", "id": upstream_id, "type": "1"})
    other = client.buy(FACEBOOK).upstream_id
    fake.expire(other)
    assert client.status(other).state == UpstreamState.CANCELLED
    assert fake.balance == Decimal("450.00")  # the expired one refunded


def test_status_of_an_unknown_or_missing_id(client):
    with pytest.raises(UnknownActivation) as unknown:
        client.status("ORD_nope")
    assert unknown.value.raw == "NO_ACTIVATION"
    with pytest.raises(UnknownActivation) as missing:
        client.status("")
    assert missing.value.raw == "BAD_ID"


@pytest.mark.parametrize(
    "body", [*GARBAGE, "STATUS_OK", "STATUS_OK:", "STATUS_WAIT_CODE:1", "ACCESS_READY", "STATUS_WAIT_RETRY:12"]
)
def test_status_garbage_is_bad_response(fake, client, body):
    fake.next_response("getStatus", body)
    with pytest.raises(BadResponse) as caught:
        client.status("ORD_1")
    assert caught.value.raw == body


def test_cancel_is_8_and_refunds(fake, client):
    upstream_id = client.buy(TELEGRAM).upstream_id
    assert client.set_status(upstream_id, SetStatus.CANCEL) == "ACCESS_READY"
    params = {"api_key": KEY, "action": "setStatus", "id": upstream_id, "status": "8", "type": "1"}
    assert fake.calls[-1] == ("setStatus", params)
    assert fake.balance == Decimal("500.00") and fake.orders[upstream_id].status == "cancelled"
    assert client.status(upstream_id).state == UpstreamState.CANCELLED
    with pytest.raises(ProviderError) as again:
        client.set_status(upstream_id, SetStatus.CANCEL)
    assert type(again.value) is ProviderError and again.value.raw == "STATUS_ALREADY_CHANGED"


def test_cancel_within_two_minutes_is_denied(fake, client):
    fake.early_cancel_seconds = 120
    upstream_id = client.buy(TELEGRAM).upstream_id
    with pytest.raises(CancelTooEarly) as early:
        client.set_status(upstream_id, SetStatus.CANCEL)
    assert early.value.raw == "EARLY_CANCEL_DENIED" and fake.orders[upstream_id].status == "waiting"


def test_finish_is_6_after_the_code_and_refused_before(fake, client):
    upstream_id = client.buy(TELEGRAM).upstream_id
    with pytest.raises(ProviderError) as early:
        client.set_status(upstream_id, SetStatus.FINISH)
    assert type(early.value) is ProviderError and early.value.raw == "NO_SMS_RECEIVED"
    fake.deliver_sms(upstream_id, "1111")
    assert client.set_status(upstream_id, SetStatus.FINISH) == "ACCESS_FINISH"
    assert fake.calls[-1][1]["status"] == "6" and fake.orders[upstream_id].status == "finished"
    assert fake.balance == Decimal("450.00")


def test_a_cancel_after_the_otp_is_never_taken_for_a_cancel(fake, client):
    upstream_id = client.buy(TELEGRAM).upstream_id
    fake.deliver_sms(upstream_id, "1111")
    with pytest.raises(ProviderError) as caught:
        client.set_status(upstream_id, SetStatus.CANCEL)
    assert type(caught.value) is ProviderError and caught.value.raw == "ACCESS_FINISH"
    assert fake.balance == Decimal("450.00")


@pytest.mark.parametrize("status", [SetStatus.READY, SetStatus.RETRY])
def test_ready_and_another_sms_are_not_in_the_protocol(fake, client, status):
    upstream_id = client.buy(TELEGRAM).upstream_id
    fake.clear_calls()
    with pytest.raises(Unsupported) as caught:
        client.set_status(upstream_id, status)
    assert caught.value.raw == "UNSUPPORTED" and fake.calls == []


@pytest.mark.parametrize(
    ("status", "body"),
    [(SetStatus.CANCEL, "ACCESS_CANCEL"), (SetStatus.FINISH, "ACCESS_READY"), (SetStatus.FINISH, "ACCESS_ACTIVATION")]
    + [(SetStatus.CANCEL, body) for body in [*GARBAGE, "ACCESS_READY:1", "PKR refunded to wallet"]],
)
def test_set_status_garbage_is_bad_response(fake, client, status, body):
    fake.next_response("setStatus", body)
    with pytest.raises(BadResponse) as caught:
        client.set_status("ORD_1", status)
    assert caught.value.raw == body
