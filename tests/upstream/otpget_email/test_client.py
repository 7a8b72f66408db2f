"""OtpGetEmailClient against the fake email_handler.php over real HTTP: every action, the decided reply
shapes, the error table, both servers and the server inside our upstream id, garbage and timeouts."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.fakes.otpget_email_state import LIFETIME_SECONDS, encode, error
from tests.upstream.otpget_email.conftest import KEY
from upstream.models import Provider
from upstream.providers.base import (
    ANY_SITE,
    BadResponse,
    EmailCancelled,
    EmailEnded,
    EmailPrice,
    EmailRequest,
    EmailState,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    SetStatus,
    UnknownActivation,
    Unsupported,
    client_for,
)
from upstream.providers.otpget_email import OtpGetEmailClient, config_check, split_id
from upstream.providers.otpget_email_wire import CANCELLED_MESSAGE, MESSAGES, SHAPES

pytestmark = pytest.mark.django_db

IG = EmailRequest(domain="gmail.com", service="ig")
GMX = EmailRequest(domain="gmx.com", site="telegram.org")


def keys(body: str) -> list:
    """The key order of a reply and of its first list entry."""
    reply = json.loads(body)
    lists = [value for value in reply.values() if isinstance(value, list) and value]
    return list(reply) + (list(lists[0][0]) if lists else [])


# --- the decided shapes ------------------------------------------------------------------------------


def test_the_fake_answers_exactly_the_decided_shapes(fake):
    def ask(action: str, **params: str) -> str:
        return fake.state.handle({"api_key": KEY, "action": action, **params})[1]

    bodies = {
        "getEmailServices1": ask("getEmailServices", server="1", domain="gmail.com"),
        "getEmailServices2": ask("getEmailServices", server="2"),
        "buyEmail": ask("buyEmail", server="1", service_id="ig", domain="gmail.com"),
    }
    first = json.loads(bodies["buyEmail"])["email_id"]
    bodies["getEmailCodeWaiting"] = ask("getEmailCode", server="1", email_id=first)
    fake.deliver_letter(first, "123456 is your Instagram code", "123456", sender="security@mail.instagram.com")
    bodies["getEmailCode"] = ask("getEmailCode", server="1", email_id=first)
    bodies["cancelEmailCode"] = ask("cancelEmail", server="1", email_id=first)
    second = json.loads(ask("buyEmail", server="2", domain="gmx.com", site="telegram.org"))["email_id"]
    bodies["cancelEmail"] = ask("cancelEmail", server="2", email_id=second)
    bodies["cancelEmailCancelled"] = ask("cancelEmail", server="2", email_id=second)
    bodies["getEmailCodeCancelled"] = ask("getEmailCode", server="2", email_id=second)
    bodies["getEmailHistory"] = ask("getEmailHistory", page="1")
    bodies["error"] = ask("getEmailCode", server="1", email_id="1")
    for action, shape in SHAPES.items():
        assert keys(bodies[action]) == keys(shape), action
        assert json.loads(bodies[action])["status"] == json.loads(shape)["status"], action
    assert json.loads(bodies["error"])["message"] == json.loads(SHAPES["error"])["message"]
    buy = json.loads(bodies["buyEmail"], parse_float=Decimal)
    assert [type(buy[k]) for k in ("email_id", "price", "balance", "server")] == [str, Decimal, Decimal, int]
    assert '"price":120.00,"balance":4880.00,"server":1}' in bodies["buyEmail"]  # two decimals, as PHP
    assert json.loads(bodies["getEmailHistory"])["history"][0]["status"] == "cancelled"


def test_php_json_encode_escapes_slashes_and_non_ascii_and_keeps_two_decimals():
    body = encode({"a": "x/y", "b": "Need: 1 \u2014 Have: 0", "c": Decimal("1.2"), "d": 3, "e": []})
    assert body == '{"a":"x\\/y","b":"Need: 1 \\u2014 Have: 0","c":1.20,"d":3,"e":[]}'


def test_the_documents_samples_read_as_decided(fake, client):
    fake.next_response("buyEmail", SHAPES["buyEmail"])
    bought = client.email_buy(IG)
    assert (bought.upstream_id, bought.email, bought.cost) == ("1:7291834", "temp.abc123@gmail.com", Decimal("120"))
    fake.next_response("getEmailCode", SHAPES["getEmailCode"])
    status = client.email_status(bought.upstream_id)
    assert status.state == EmailState.RECEIVED
    [letter] = status.letters
    assert (letter.letter_id, letter.code, letter.sender) == ("1", "123456", "security@mail.instagram.com")
    assert letter.text == "123456 is your Instagram code"
    assert letter.received_at == datetime(2026, 3, 9, 20, 57, 32, tzinfo=UTC)
    for shape, state in (("getEmailCodeWaiting", EmailState.WAITING), ("getEmailCodeCancelled", EmailState.CANCELLED)):
        fake.next_response("getEmailCode", SHAPES[shape])
        assert client.email_status(bought.upstream_id).state == state
    fake.next_response("cancelEmail", SHAPES["cancelEmail"])
    assert client.email_cancel(bought.upstream_id) == EmailCancelled(refunded=True, raw=SHAPES["cancelEmail"])
    fake.next_response("cancelEmail", SHAPES["cancelEmailCode"])
    cancelled = client.email_cancel(bought.upstream_id)
    assert not cancelled.refunded and cancelled.letters == status.letters
    fake.next_response("cancelEmail", SHAPES["cancelEmailCancelled"])
    with pytest.raises(EmailEnded):
        client.email_cancel(bought.upstream_id)


# --- catalogue ---------------------------------------------------------------------------------------


def test_email_prices_of_both_servers(fake, client):
    prices = client.email_prices()
    assert [(a, p.get("server"), p.get("domain")) for a, p in fake.calls] == [
        ("getEmailServices", "2", None),
        ("getEmailServices", "1", "gmail.com"),
        ("getEmailServices", "1", "mail.com"),
        ("getEmailServices", "1", "gmx.com"),
        ("getEmailServices", "1", "outlook.com"),
    ]
    assert prices == [
        EmailPrice("gmail.com", ANY_SITE, Decimal("15.60"), 82000),
        EmailPrice("mail.com", ANY_SITE, Decimal("1.17"), 990125),
        EmailPrice("gmx.com", ANY_SITE, Decimal("1.17"), 1615245),
        EmailPrice("outlook.com", ANY_SITE, Decimal("3.00"), 0),
        EmailPrice("gmail.com", "ig", Decimal("120.00"), 48, name="Instagram"),
        EmailPrice("gmail.com", "tg", Decimal("95.00"), 120, name="Telegram"),
        EmailPrice("outlook.com", "ds", Decimal("60.00"), 0, name="Discord"),
    ]
    assert all(params["api_key"] == KEY for _, params in fake.calls) and fake.requests[0][0] == "GET"


def test_config_chooses_servers_and_server_1_domains(fake, make_client):
    only2 = make_client(servers=[2]).email_prices()
    assert {p.service for p in only2} == {ANY_SITE} and len(only2) == 4
    fake.clear_calls()
    only1 = make_client(slot=2, servers=[1]).email_prices()  # no Server 2 to list domains: gmail.com
    assert [(p.domain, p.service) for p in only1] == [("gmail.com", "ig"), ("gmail.com", "tg")]
    assert [p.get("server") for _, p in fake.calls] == ["1"]
    chosen = make_client(slot=3, domains=["outlook.com", "yahoo.com"]).email_prices()
    assert [(p.domain, p.service) for p in chosen if p.service] == [("outlook.com", "ds")]


def test_a_disabled_server_offers_nothing_and_the_other_still_sells(fake, client):
    fake.disable(2)
    assert [(p.domain, p.service) for p in client.email_prices()] == [("gmail.com", "ig"), ("gmail.com", "tg")]
    fake.disable(1, configured=False)
    fake.clear_calls()
    assert client.email_prices() == []
    assert [p["server"] for _, p in fake.calls] == ["2", "1"]  # Server 1 off: no second domain asked


def test_a_server_1_domain_without_services_is_skipped(fake, client):
    fake.next_response("getEmailServices", SHAPES["getEmailServices2"])
    fake.next_response("getEmailServices", error("404", MESSAGES["no_service"]))
    assert client.email_prices() == [EmailPrice("gmail.com", ANY_SITE, Decimal("15.60"), 82000)]


def test_a_listing_error_is_raised_not_taken_for_an_empty_catalogue(fake, client):
    fake.next_response("getEmailServices", error("500", MESSAGES["connection"]))
    with pytest.raises(ProviderError) as caught:
        client.email_prices()
    assert caught.value.raw == "API_CONNECTION_ERROR"


def test_no_activations_and_no_balance(fake, client):
    assert client.supports_email is True and client.supports_rent is False
    for call in (
        lambda: client.buy(None),
        lambda: client.status("1"),
        lambda: client.set_status("1", SetStatus.CANCEL),
        client.balance,
    ):
        with pytest.raises(Unsupported):
            call()
    assert client.countries() == [] and client.services() == [] and client.prices() == []
    assert fake.calls == []


# --- buying ------------------------------------------------------------------------------------------


def test_a_service_goes_to_server_1(fake, client):
    bought = client.email_buy(IG)
    params = fake.calls[-1][1]
    assert {k: params.get(k) for k in ("action", "server", "service_id", "domain", "site")} == {
        "action": "buyEmail", "server": "1", "service_id": "ig", "domain": "gmail.com", "site": None,
    }  # fmt: skip
    [email] = fake.emails
    assert bought.upstream_id == f"1:{email.email_id}" and bought.email == email.email
    assert (bought.cost, fake.balance, fake.state.stock(1, "ig")) == (Decimal("120.00"), Decimal("4880"), 47)
    assert json.loads(bought.raw)["server"] == 1


def test_server_1_takes_its_default_domain(fake, client):
    client.email_buy(EmailRequest(domain="", service="tg"))
    assert "domain" not in fake.calls[-1][1] and fake.emails[0].domain == "gmail.com"


def test_no_service_goes_to_server_2_with_the_site(fake, client):
    bought = client.email_buy(GMX)
    params = fake.calls[-1][1]
    assert (params["server"], params["domain"], params["site"], "service_id" in params) == (
        "2", "gmx.com", "telegram.org", False,
    )  # fmt: skip
    assert bought.upstream_id == "2:48291034" and bought.email.endswith("@gmx.com")
    assert bought.cost == Decimal("1.17")
    client.email_buy(EmailRequest(domain="mail.com"))
    assert "site" not in fake.calls[-1][1]


def test_refused_before_sending(fake, make_client):
    with pytest.raises(ProviderError) as no_domain:
        make_client().email_buy(EmailRequest(domain=""))
    with pytest.raises(ProviderError) as server_off:
        make_client(slot=2, servers=[2]).email_buy(IG)
    assert (no_domain.value.raw, server_off.value.raw) == ("DOMAIN_REQUIRED", "SERVER_NOT_USED:1")
    assert fake.calls == []


def test_the_fakes_buy_errors(fake, client):
    with pytest.raises(NoNumbers):
        client.email_buy(EmailRequest(domain="outlook.com"))
    with pytest.raises(NoNumbers):
        client.email_buy(EmailRequest(domain="outlook.com", service="ds"))
    with pytest.raises(ProviderError) as unknown:
        client.email_buy(EmailRequest(domain="yahoo.com"))
    assert unknown.value.raw == "SERVICE_NOT_AVAILABLE" and type(unknown.value) is ProviderError
    fake.balance = "5"
    with pytest.raises(ProviderNoBalance) as poor:
        client.email_buy(IG)
    assert poor.value.raw == "NO_BALANCE" and "Need: 120.00" in str(poor.value)
    fake.disable(1)
    with pytest.raises(ProviderError) as disabled:
        client.email_buy(IG)
    assert disabled.value.raw == "DISABLED"
    assert fake.emails == []


@pytest.mark.parametrize(
    "status,message,exception,raw",
    [
        ("401", MESSAGES["bad_key"], ProviderBadKey, "BAD_KEY"),
        ("403", MESSAGES["blocked"], ProviderError, "ACCOUNT_BLOCKED"),
        ("400", MESSAGES["unknown_action"], ProviderError, "BAD_ACTION"),
        ("400", "service_id is required", ProviderError, "STATUS_400"),
        ("400", MESSAGES["bad_server"], ProviderError, "BAD_SERVER"),
        ("402", "Insufficient balance. Need: 120.00 \u2014 Have: 5.00", ProviderNoBalance, "NO_BALANCE"),
        ("402", "", ProviderNoBalance, "NO_BALANCE"),
        ("404", MESSAGES["no_service"], ProviderError, "SERVICE_NOT_AVAILABLE"),
        ("404", MESSAGES["no_stock"], NoNumbers, "NO_STOCK_AVAILABLE"),
        ("404", "Something else", ProviderError, "NOT_FOUND"),
        ("404", MESSAGES["not_found"], ProviderError, "EMAIL_NOT_FOUND"),
        ("500", MESSAGES["connection"], ProviderError, "API_CONNECTION_ERROR"),
        ("500", MESSAGES["no_email"], NoNumbers, "NO_EMAIL_AVAILABLE"),
        ("500", "Database error: deadlock", ProviderError, "DATABASE_ERROR"),
        ("503", MESSAGES["not_configured"], ProviderError, "NOT_CONFIGURED"),
        ("503", MESSAGES["disabled"], ProviderError, "DISABLED"),
        ("502", "Bad gateway", ProviderError, "STATUS_502"),
    ],
)
def test_every_documented_error_of_buy_email(fake, client, status, message, exception, raw):
    fake.next_response("buyEmail", error(status, message))
    with pytest.raises(exception) as caught:
        client.email_buy(IG)
    assert type(caught.value) is exception and caught.value.raw == raw
    assert message in str(caught.value)


def test_a_wrong_key_and_a_blocked_account(fake, make_client):
    with pytest.raises(ProviderBadKey):
        make_client(key="wrong").email_prices()
    fake.state.blocked = True
    with pytest.raises(ProviderError) as caught:
        make_client(slot=2).email_buy(GMX)
    assert caught.value.raw == "ACCOUNT_BLOCKED" and type(caught.value) is ProviderError


# --- status ------------------------------------------------------------------------------------------


def test_waiting_then_the_letters(fake, client):
    bought = client.email_buy(GMX)
    assert client.email_status(bought.upstream_id).state == EmailState.WAITING
    assert fake.calls[-1][1]["server"] == "2" and fake.calls[-1][1]["email_id"] == "48291034"
    fake.deliver_letter("48291034", "Your Telegram code: 71234", "71234", sender="no-reply@telegram.org")
    fake.deliver_letter("48291034", "Log in code 55555", subject="Telegram login", sender="no-reply@telegram.org")
    status = client.email_status(bought.upstream_id)
    assert status.state == EmailState.RECEIVED
    assert [(x.letter_id, x.code, x.sender, x.text) for x in status.letters] == [
        ("1", "71234", "no-reply@telegram.org", "Your Telegram code: 71234"),
        ("2", "55555", "no-reply@telegram.org", "Telegram login\nLog in code 55555"),  # code found in the text
    ]
    assert all(x.received_at and abs((x.received_at - datetime.now(UTC)).total_seconds()) < 5 for x in status.letters)


def test_the_server_in_the_id_finds_the_mailbox(fake, client):
    first, second = client.email_buy(IG), client.email_buy(GMX)
    number = split_id(second.upstream_id)[1]
    with pytest.raises(UnknownActivation):  # Server 1 has no mailbox of that number
        client.email_status(f"1:{number}")
    bare = split_id(first.upstream_id)[1]
    assert client.email_status(bare).state == EmailState.WAITING  # a bare id: Server 1, the default
    assert fake.calls[-1][1]["server"] == "1"


@pytest.mark.parametrize("upstream_id", ["", "3:1", "1:", "a b", "1:2:3"])
def test_an_id_that_is_none_of_ours_is_unknown_without_sending(fake, client, upstream_id):
    with pytest.raises(UnknownActivation):
        client.email_status(upstream_id)
    with pytest.raises(UnknownActivation):
        client.email_cancel(upstream_id)
    assert fake.calls == []


def test_expired_cancelled_and_unknown(fake, client):
    expired, cancelled = client.email_buy(IG), client.email_buy(IG)
    client.email_cancel(cancelled.upstream_id)
    fake.advance(LIFETIME_SECONDS + 1)
    assert client.email_status(expired.upstream_id).state == EmailState.CANCELLED
    assert client.email_status(cancelled.upstream_id).state == EmailState.CANCELLED
    assert fake.balance == Decimal("5000.00")  # both refunded upstream
    with pytest.raises(UnknownActivation) as caught:
        client.email_status("1:1")
    assert caught.value.raw == "EMAIL_NOT_FOUND"


def test_a_200_without_letters_is_still_waiting(fake, client):
    fake.next_response("getEmailCode", '{"status":"200","email_id":"1","email":"a@b.c","messages":[]}')
    assert client.email_status("1:1").state == EmailState.WAITING
    fake.next_response("getEmailCode", '{"status":"200","email_id":"1","email":"a@b.c","messages":{}}')
    assert client.email_status("1:1").letters == ()


def test_letters_without_ids_get_stable_distinct_digests(fake, client):
    same = {"from": "x@y.z", "subject": "", "code": "111222", "text": "111222", "received_at": "2026-03-09T20:57:32Z"}
    body = json.dumps({"status": "200", "email_id": "1", "email": "a@b.c", "messages": [same, same]})
    ids = []
    for _ in range(2):
        fake.next_response("getEmailCode", body)
        ids.append([x.letter_id for x in client.email_status("1:1").letters])
    assert ids[0] == ids[1] and len(set(ids[0])) == 2


# --- cancel ------------------------------------------------------------------------------------------


def test_cancel_refunds_a_waiting_mailbox(fake, client):
    bought = client.email_buy(IG)
    cancelled = client.email_cancel(bought.upstream_id)
    assert cancelled.refunded and cancelled.letters == () and fake.balance == Decimal("5000.00")
    assert json.loads(cancelled.raw)["message"] == CANCELLED_MESSAGE
    with pytest.raises(EmailEnded):
        client.email_cancel(bought.upstream_id)


def test_cancel_after_a_letter_returns_it_and_refunds_nothing(fake, client):
    bought = client.email_buy(IG)
    fake.deliver_letter(split_id(bought.upstream_id)[1], "Instagram code 424242", "424242")
    cancelled = client.email_cancel(bought.upstream_id)
    assert not cancelled.refunded and [x.code for x in cancelled.letters] == ["424242"]
    assert fake.balance == Decimal("4880.00")
    assert client.email_status(bought.upstream_id).state == EmailState.RECEIVED


def test_cancel_of_an_expired_or_unknown_mailbox(fake, client):
    bought = client.email_buy(GMX)
    fake.advance(LIFETIME_SECONDS)
    with pytest.raises(EmailEnded):
        client.email_cancel(bought.upstream_id)
    with pytest.raises(UnknownActivation):
        client.email_cancel("2:1")
    fake.next_response("cancelEmail", error("404", "Service not available"))
    with pytest.raises(UnknownActivation):  # a 404 on a lookup: the mailbox is not known there
        client.email_cancel("2:1")


def test_a_cancel_reply_with_only_a_code(fake, client):
    fake.next_response("cancelEmail", '{"status":"200","message":"Code already received.","code":"987654"}')
    cancelled = client.email_cancel("1:1")
    assert not cancelled.refunded and [(x.code, x.text) for x in cancelled.letters] == [("987654", "987654")]


# --- garbage, transport, config ----------------------------------------------------------------------

CALLS = {
    "getEmailServices": lambda c: c.email_prices(),
    "buyEmail": lambda c: c.email_buy(IG),
    "getEmailCode": lambda c: c.email_status("1:7291834"),
    "cancelEmail": lambda c: c.email_cancel("1:7291834"),
}
GARBAGE = [
    "<html>502</html>",
    "",
    "not json",
    '{"status":200,"services":[]}',  # a number, not the string "200"
    '{"message":"ok"}',
    '["200"]',
    '{"status":"201","message":"created"}',
    '{"status":"OK"}',
]


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_is_bad_response(fake, client, action, body):
    fake.next_response(action, body)
    with pytest.raises(BadResponse):
        CALLS[action](client)


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize("status", [500, 502, 404, 302])
def test_http_failures_are_bad_response(fake, client, action, status):
    fake.next_response(action, error("404", MESSAGES["not_found"]), status=status, headers={"Location": "/x"})
    with pytest.raises(BadResponse):
        CALLS[action](client)


@pytest.mark.parametrize(
    "action,reply",
    [
        ("getEmailServices", {"domains": [{"domain": "gmx.com", "price": "cheap", "count": 1}]}),
        ("getEmailServices", {"domains": [{"price": 1, "count": 1}]}),
        ("getEmailServices", {"domains": [{"domain": "gmx.com", "price": 1, "count": -1}]}),
        ("getEmailServices", {"domains": "none"}),
        ("buyEmail", {"email_id": "", "email": "a@b.c"}),
        ("buyEmail", {"email_id": "7", "email": "nobody"}),
        ("buyEmail", {"email_id": "7", "email": "a@b.c", "price": "free"}),
        ("getEmailCode", {"messages": [{"text": "code 1", "received_at": "yesterday"}]}),
        ("getEmailCode", {"messages": [{"text": "", "code": ""}]}),
        ("getEmailCode", {"messages": "none"}),
        ("cancelEmail", {"message": "done"}),
    ],
)
def test_wrong_shapes_are_bad_response(fake, client, action, reply):
    fake.next_response(action, json.dumps({"status": "200", **reply}))
    with pytest.raises(BadResponse):
        CALLS[action](client)


def test_a_waiting_or_cancelled_status_where_it_means_nothing(fake, client):
    fake.next_response("buyEmail", error("202", MESSAGES["waiting"]))
    with pytest.raises(BadResponse):
        client.email_buy(IG)
    fake.next_response("cancelEmail", error("202", MESSAGES["waiting"]))
    with pytest.raises(BadResponse):
        client.email_cancel("1:1")


def test_timeouts_and_dropped_connections(fake, make_client):
    client = make_client(timeout_seconds=0.3)
    fake.delay(0.8, "buyEmail")
    with pytest.raises(ProviderTimeout):
        client.email_buy(IG)
    fake.delay(0)
    fake.next_disconnect("getEmailCode")
    with pytest.raises(ProviderTimeout):
        client.email_status("1:7291834")
    fake.next_response("cancelEmail", SHAPES["cancelEmail"], chunk_delay=0.2, chunk_size=4)
    with pytest.raises(ProviderTimeout):
        client.email_cancel("1:7291834")


@pytest.mark.parametrize(
    "config",
    [
        {"servers": []},
        {"servers": [3]},
        {"servers": "1,2"},
        {"domains": []},
        {"domains": ["Gmail.com"]},
        {"domains": "gmail.com"},
        {"domains": [""]},
    ],
)
def test_a_bad_config_is_refused_before_sending(fake, make_client, config):
    with pytest.raises(ProviderUnavailable):
        config_check(config)
    client = make_client(**config)
    for call in (client.email_prices, lambda: client.email_buy(IG), lambda: client.email_status("1:1")):
        with pytest.raises(ProviderUnavailable):
            call()
    assert fake.calls == []


def test_client_for_and_the_protocol_choice(fake, client):
    assert isinstance(client_for(client.provider), OtpGetEmailClient)
    assert ("otpget-email", "OTPGet-compatible e-mails (email_handler.php)") in Provider.Protocol.choices
    config_check({"servers": [2, 1, "2"], "domains": ["gmail.com", "gmail.com"]})
