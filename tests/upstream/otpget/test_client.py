"""OtpGetClient against the fake OTPGet server over real HTTP: buying, one activation, the active list,
every documented error token on every action. Catalogue and balance: test_catalogue.py."""

from decimal import Decimal

import pytest

from tests.fakes.otpget import FakeOtpGet
from tests.upstream.otpget.conftest import GARBAGE, KEY, TG_PK
from upstream.models import Provider
from upstream.providers import client_for
from upstream.providers.base import (
    ActiveActivation,
    BadResponse,
    BuyRequest,
    CancelTooEarly,
    MaxPriceRefused,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderUnavailable,
    SetStatus,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.providers.otpget import OtpGetClient

pytestmark = pytest.mark.django_db

# Every token of the document's error table (+ NO_NUMBERS, this server's WRONG_MAX_PRICE), by its exception.
ERRORS = [
    ("BAD_KEY", ProviderBadKey),
    ("ACCOUNT_BLOCKED", ProviderBadKey),
    ("BAD_ACTION", ProviderError),
    ("BAD_SERVICE", ProviderError),
    ("BAD_COUNTRY", ProviderError),
    ("BAD_TYPE", ProviderError),
    ("BAD_ID", UnknownActivation),
    ("BAD_STATUS", ProviderError),
    ("NO_BALANCE", ProviderNoBalance),
    ("NO_ACTIVATION", UnknownActivation),
    ("NO_NUMBERS", NoNumbers),
    ("EARLY_CANCEL_DENIED", CancelTooEarly),
    ("NO_SMS_RECEIVED", ProviderError),
    ("STATUS_ALREADY_CHANGED", ProviderError),
    ("ERROR_PRICE_CHANGE", ProviderError),
    ("ERROR_PROVIDER_1:NO_NUMBERS", ProviderError),
    ("ERROR_PROVIDER_6:TIMEOUT", ProviderError),
    ("ERROR_PROVIDER_3:<b>Fatal: x:y</b>", ProviderError),
    ("WRONG_MAX_PRICE:55.00", MaxPriceRefused),
]
CALLS = {
    "buy": lambda c: c.buy(TG_PK),
    "status": lambda c: c.status("abc1"),
    "set_status": lambda c: c.set_status("abc1", SetStatus.CANCEL),
    "countries": lambda c: c.countries(),
    "prices": lambda c: c.prices(country=61),
    "balance": lambda c: c.balance(),
}


def test_the_protocol_name_resolves_to_this_client(fake):
    provider = Provider.objects.create(slot=3, protocol="otpget", base_url=fake.url, api_key=KEY, config={"type": 1})
    assert isinstance(client_for(provider), OtpGetClient) and OtpGetClient.protocol == "otpget"


# --- buying ---------------------------------------------------------------------------------------


def test_buy_sends_service_country_type_and_max_price(fake, client):
    purchase = client.buy(BuyRequest(service="101", country=61, max_price=Decimal("5E+1")))
    assert purchase.upstream_id == "abc1" and purchase.phone == "92300000001"
    assert purchase.cost is None and purchase.raw == "ACCESS_NUMBER:abc1:92300000001"
    params = {"api_key": KEY, "action": "getNumber", "service": "101", "country": "61", "maxPrice": "50", "type": "1"}
    assert fake.calls == [("getNumber", params)]
    assert fake.balance == Decimal("450.00") and fake.activations["abc1"].service == "101"


def test_buy_from_the_configured_type_without_max_price(fake, make_client):
    client = make_client(config={"type": "2"})
    purchase = client.buy(BuyRequest(service="103", country=33))
    assert fake.activations[purchase.upstream_id].type == 2
    assert "maxPrice" not in fake.calls[0][1] and fake.calls[0][1]["type"] == "2"


def test_type_defaults_to_1_and_a_bad_type_sends_nothing(fake, make_client):
    client = make_client(config={})
    client.buy(TG_PK)
    assert fake.calls[-1][1]["type"] == "1"
    fake.clear_calls()
    for bad in [7, 0, "x", " ", True, None, 1.5, [1]]:
        client.provider.config = {"type": bad}
        with pytest.raises(ProviderUnavailable, match="config type must be 1-6"):
            client.buy(TG_PK)
    assert fake.calls == []


def test_a_plain_otpget_ignores_max_price_and_this_server_refuses_it(fake, make_client):
    cheap = BuyRequest(service="101", country=61, max_price=Decimal("10"))
    assert make_client().buy(cheap).upstream_id == "abc1"  # OTPGet ignores unknown parameters
    fake.extensions = True
    with pytest.raises(MaxPriceRefused) as refused:
        make_client(slot=2).buy(cheap)
    assert refused.value.min_price == Decimal("50.00") and refused.value.raw == "WRONG_MAX_PRICE:50.00"


@pytest.mark.parametrize(
    ("setup", "request_", "error", "raw"),
    [
        (lambda f: None, BuyRequest(service="103", country=61), NoNumbers, "NO_NUMBERS"),
        (lambda f: setattr(f, "balance", "49.99"), TG_PK, ProviderNoBalance, "NO_BALANCE"),
        (lambda f: setattr(f, "blocked", True), TG_PK, ProviderBadKey, "ACCOUNT_BLOCKED"),
        (lambda f: None, BuyRequest(service="tg", country=61), ProviderError, "BAD_SERVICE"),
        (lambda f: None, BuyRequest(service="101", country=999), ProviderError, "BAD_COUNTRY"),
    ],
)
def test_buy_errors_from_the_fake(fake, client, setup, request_, error, raw):
    setup(fake)
    with pytest.raises(error) as caught:
        client.buy(request_)
    assert type(caught.value) is error and caught.value.raw == raw and fake.activations == {}


def test_a_wrong_key_is_bad_key(make_client):
    with pytest.raises(ProviderBadKey):
        make_client(key="wrong-key-0123456789").buy(TG_PK)


@pytest.mark.parametrize(
    ("action", "token", "error"),
    [
        (action, token, error)
        for action in CALLS
        for token, error in ERRORS
        if (action, token) != ("prices", "NO_NUMBERS")
    ],
)
def test_every_documented_error_token(fake, client, action, token, error):
    fake.next_response("*", token)
    with pytest.raises(ProviderError) as caught:
        CALLS[action](client)
    assert type(caught.value) is error and caught.value.raw == token


@pytest.mark.parametrize(
    "body",
    [
        *GARBAGE,
        "ACCESS_NUMBER:abc1",
        "ACCESS_NUMBER::92300000001",
        "ACCESS_NUMBER:abc 1:92300000001",
        "ACCESS_NUMBER:abc1:phone",
        "ACCESS_NUMBER:abc1:123",
        "ACCESS_NUMBER:abc1:923000000011234567890123456789012",
    ],
)
def test_buy_garbage_is_bad_response_with_the_body(fake, client, body):
    fake.next_response("getNumber", body)
    with pytest.raises(BadResponse) as caught:
        client.buy(TG_PK)
    assert caught.value.raw == body


@pytest.mark.parametrize("body", ["", "  \r\n", "\ufeff"])
def test_an_empty_body_is_bad_response(fake, client, body):
    for action in ("getNumber", "getStatus", "getBalance"):
        fake.next_response(action, body)
    for call in (lambda: client.buy(TG_PK), lambda: client.status("abc1"), client.balance):
        with pytest.raises(BadResponse, match="empty reply"):
            call()


def test_a_phone_with_plus_and_a_padded_body_are_read(fake, client):
    fake.next_response("getNumber", "\ufeffACCESS_NUMBER:9f-A_1.2:+92300000001\n")
    purchase = client.buy(TG_PK)
    assert (purchase.upstream_id, purchase.phone) == ("9f-A_1.2", "92300000001")


# --- one activation -------------------------------------------------------------------------------


def test_status_waiting_code_and_cancel(fake, client):
    upstream_id = client.buy(TG_PK).upstream_id
    waiting = client.status(upstream_id)
    assert waiting.state == UpstreamState.WAITING and waiting.code is None and waiting.raw == "STATUS_WAIT_CODE"
    fake.deliver_sms(upstream_id, "847293")
    got = client.status(upstream_id)
    assert (got.state, got.code, got.text, got.raw) == (UpstreamState.CODE, "847293", None, "STATUS_OK:847293")
    assert "getFullSms" not in fake.actions()
    assert all(params["type"] == "1" and params["id"] == upstream_id for _, params in fake.calls[1:])
    assert client.set_status(upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert client.status(upstream_id).state == UpstreamState.CANCELLED


def test_status_of_an_unknown_or_missing_id(client):
    with pytest.raises(UnknownActivation) as unknown:
        client.status("nope1")
    assert unknown.value.raw == "NO_ACTIVATION"
    with pytest.raises(UnknownActivation) as missing:
        client.status("")
    assert missing.value.raw == "BAD_ID"


@pytest.mark.parametrize(
    "body", [*GARBAGE, "STATUS_OK", "STATUS_OK:", "STATUS_WAIT_CODE:1", "ACCESS_READY", "STATUS_WAIT"]
)
def test_status_garbage_is_bad_response(fake, client, body):
    fake.next_response("getStatus", body)
    with pytest.raises(BadResponse) as caught:
        client.status("abc1")
    assert caught.value.raw == body


def test_full_sms_from_this_server_when_configured(fake, make_client):
    fake.extensions = True
    client = make_client(config={"type": 1, "full_sms": True})
    upstream_id = client.buy(TG_PK).upstream_id
    fake.deliver_sms(upstream_id, "740279", "Your WhatsApp code 740-279: do not share")
    result = client.status(upstream_id)
    assert result.code == "740279" and result.text == "Your WhatsApp code 740-279: do not share"
    assert fake.calls[-1] == ("getFullSms", {"api_key": KEY, "action": "getFullSms", "id": upstream_id, "type": "1"})


@pytest.mark.parametrize("reply", ["BAD_ACTION", "FULL_SMS:", "STATUS_WAIT_CODE", "<html></html>"])
def test_full_sms_that_fails_keeps_the_code(fake, make_client, reply):
    client = make_client(config={"type": 1, "full_sms": True})
    upstream_id = client.buy(TG_PK).upstream_id
    fake.deliver_sms(upstream_id, "1234")
    fake.next_response("getFullSms", reply)
    result = client.status(upstream_id)
    assert (result.state, result.code, result.text) == (UpstreamState.CODE, "1234", None)


def test_another_sms_then_finish(fake, make_client):
    client = make_client(config={"type": 1, "active_list": True})  # this server: 3 is "another SMS"
    upstream_id = client.buy(TG_PK).upstream_id
    fake.deliver_sms(upstream_id, "1111")
    assert client.set_status(upstream_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"
    retry = client.status(upstream_id)
    assert (retry.state, retry.code, retry.raw) == (UpstreamState.WAIT_RETRY, "1111", "STATUS_WAIT_RETRY:1111")
    fake.deliver_sms(upstream_id, "2222")
    assert client.status(upstream_id).code == "2222"
    assert client.set_status(upstream_id, SetStatus.FINISH) == "ACCESS_ACTIVATION"
    assert fake.calls[-1][1] == {"api_key": KEY, "action": "setStatus", "id": upstream_id, "status": "6", "type": "1"}
    assert client.status(upstream_id).state == UpstreamState.CANCELLED  # OTPGet says STATUS_CANCEL once ended
    with pytest.raises(ProviderError) as again:
        client.set_status(upstream_id, SetStatus.CANCEL)
    assert again.value.raw == "STATUS_ALREADY_CHANGED" and fake.balance == Decimal("450.00")


def test_cancel_within_two_minutes_is_denied_then_refunded(fake, client):
    fake.early_cancel_seconds = 120
    upstream_id = client.buy(TG_PK).upstream_id
    with pytest.raises(CancelTooEarly) as early:
        client.set_status(upstream_id, SetStatus.CANCEL)
    assert early.value.raw == "EARLY_CANCEL_DENIED" and fake.activations[upstream_id].status == "waiting"
    fake.early_cancel_seconds = 0
    assert client.set_status(upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert fake.balance == Decimal("500.00") and fake.activations[upstream_id].status == "cancelled"


@pytest.mark.parametrize("status", [SetStatus.RETRY, SetStatus.FINISH])
def test_complete_before_an_sms_is_no_sms_received(make_client, status):
    client = make_client(config={"type": 1, "active_list": True})
    upstream_id = client.buy(TG_PK).upstream_id
    with pytest.raises(ProviderError) as caught:
        client.set_status(upstream_id, status)
    assert type(caught.value) is ProviderError and caught.value.raw == "NO_SMS_RECEIVED"


def test_ready_is_bad_status_at_otpget_and_access_ready_at_this_server(fake, client):
    upstream_id = client.buy(TG_PK).upstream_id
    with pytest.raises(ProviderError) as caught:
        client.set_status(upstream_id, SetStatus.READY)  # the document allows only 3, 6 and 8
    assert caught.value.raw == "BAD_STATUS"
    fake.extensions = True
    assert client.set_status(upstream_id, SetStatus.READY) == "ACCESS_READY"
    assert fake.calls[-1][1]["status"] == "1"


def test_another_sms_is_never_sent_to_a_plain_otpget(fake, client):
    """OTPGet's documented 3 completes an activation: asking it for another SMS would end it."""
    upstream_id = client.buy(TG_PK).upstream_id
    fake.deliver_sms(upstream_id, "1111")
    calls = len(fake.calls)
    with pytest.raises(Unsupported) as caught:
        client.set_status(upstream_id, SetStatus.RETRY)
    assert caught.value.raw == "UNSUPPORTED" and len(fake.calls) == calls


def test_set_status_of_an_unknown_id(client):
    with pytest.raises(UnknownActivation):
        client.set_status("nope1", SetStatus.FINISH)


@pytest.mark.parametrize(
    ("status", "body"),
    [(SetStatus.FINISH, "ACCESS_CANCEL"), (SetStatus.CANCEL, "ACCESS_ACTIVATION"), (SetStatus.RETRY, "ACCESS_READY")]
    + [(SetStatus.CANCEL, body) for body in [*GARBAGE, "Balance refunded", "ACCESS_CANCEL:1"]],
)
def test_set_status_needs_the_token_of_that_status(fake, make_client, status, body):
    client = make_client(config={"type": 1, "active_list": True})
    fake.next_response("setStatus", body)
    with pytest.raises(BadResponse) as caught:
        client.set_status("abc1", status)
    assert caught.value.raw == body


# --- active list ----------------------------------------------------------------------------------


def test_no_active_list_unless_configured(fake, client, make_client):
    assert client.supports_active_list is False
    with pytest.raises(NotImplementedError):
        client.active_activations()
    assert fake.calls == []
    assert make_client(slot=2, config={"type": 1, "active_list": True}).supports_active_list is True


def test_active_list_of_this_server(fake, make_client):
    fake.extensions = True
    client = make_client(config={"type": 1, "active_list": True})
    assert client.active_activations() == []  # NO_ACTIVATIONS
    waiting, coded, retry, ended = (client.buy(TG_PK).upstream_id for _ in range(4))
    fake.deliver_sms(coded, "5555", "Code 5555")
    fake.deliver_sms(retry, "6666")
    client.set_status(retry, SetStatus.RETRY)
    client.set_status(ended, SetStatus.CANCEL)
    items = {item.upstream_id: item for item in client.active_activations()}
    assert set(items) == {waiting, coded, retry} and fake.calls[-1][1]["action"] == "getActiveActivations"
    assert items[coded] == ActiveActivation(
        upstream_id=coded,
        phone=fake.activations[coded].phone,
        state=UpstreamState.CODE,
        code="5555",
        text="Code 5555",
        raw=items[coded].raw,
    )
    assert items[coded].raw["serviceCode"] == "101"
    assert (items[waiting].state, items[waiting].code) == (UpstreamState.WAITING, None)
    assert items[retry].state == UpstreamState.WAIT_RETRY and items[retry].text is None


@pytest.mark.parametrize(
    "body",
    [
        *GARBAGE[:3],
        '{"status":"success","activeActivations":{}}',
        '{"status":"success","activeActivations":[1]}',
        '{"status":"success","activeActivations":[{"activationId":"1","phoneNumber":"n\\/a"}]}',
        '{"status":"success","activeActivations":[{"activationId":null,"phoneNumber":"923001234567"}]}',
        '{"activeActivations":[]}',
    ],
)
def test_active_list_garbage_is_bad_response(fake, make_client, body):
    fake.next_response("getActiveActivations", body)
    with pytest.raises(BadResponse):
        make_client(config={"type": 1, "active_list": True}).active_activations()


def test_a_fake_of_the_document_answers_its_bodies():
    with FakeOtpGet(api_key=KEY) as fake:
        fake.set_offer(1, 61, "101", "Telegram", "50", 1)
        provider = Provider.objects.create(slot=1, protocol="otpget", base_url=fake.url, api_key=KEY, config={})
        client = OtpGetClient(provider)
        upstream_id = client.buy(TG_PK).upstream_id
        with pytest.raises(CancelTooEarly):  # the document's two minutes by default
            client.set_status(upstream_id, SetStatus.CANCEL)
        with pytest.raises(NoNumbers):
            client.buy(TG_PK)
