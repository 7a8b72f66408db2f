"""GetSmsClient against the fake Get-SMS v1 server over real HTTP: every method, every documented status code,
the document's own bodies, garbage and transport failures."""

import json
import logging
import socket
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
    ProviderTimeout,
    ProviderUnavailable,
    ServiceEntry,
    SetStatus,
    UnknownActivation,
    UpstreamState,
)

pytestmark = pytest.mark.django_db

from tests.upstream.getsms.conftest import KEY, TG_INDIA  # noqa: E402

# The document's example bodies (its "..." and comments left out).
DOC_GETCOUNT = (
    '{"status": 200, "data": {"ANY": {"vk": {"count": 0, "price": "5"}, "ok": {"count": 0, "price": "5"},'
    ' "wapp": {"count": 1, "price": "2"}, "vbr": {"count": 10, "price": "2"}}, "TELE2": {"vk": {"count": 7,'
    ' "price": "4"}}, "BEELINE": {}, "MEGAFON": {}, "MTS": {}}}'
)
DOC_GETALLCOUNT = (
    '{"ru": [{"vk": {"name": "VK", "price": "62.3", "count_all": "3712"}, "tg": {"name": "Telegram",'
    ' "price": "209.49", "count_all": "3861"}}], "england": [{"ok": {"name": "Ok.ru", "price": "38.2",'
    ' "count_all": "4026"}, "atp": {"name": "Vonage", "price": "2.13", "count_all": "3979"}}]}'
)
DOC_GETALLCOUNT_TG = (
    '{"ru": {"price": "214.15", "count_all": "4036"}, "england": {"price": "98.67", "count_all": "3654"},'
    ' "ssha": {"price": "41.03", "count_all": "4459"}, "atlantis": {"price": "1", "count_all": "1"}}'
)
DOC_NO_NUMBER = (
    '{"status": 500, "data": {"msg": "No phone number was found for this request", "advice": "Please try to'
    ' retrieve the phone number later, after new numbers become available"}}'
)


def bought(fake, client) -> str:
    order_id = client.buy(TG_INDIA).upstream_id
    fake.deliver_sms(order_id, "753455", "Your code is 753455")
    return order_id


# --- buying ---------------------------------------------------------------------------------------


def test_buy_posts_the_slug_and_service_with_the_key_in_the_form(fake, client):
    request = BuyRequest(service="tg", country=22, max_price=Decimal("99"), operator="jio", order_ref="act1")
    purchase = client.buy(request)
    assert purchase.upstream_id.isdigit() and purchase.phone.startswith("91") and purchase.phone.isdigit()
    assert purchase.cost is None and purchase.operator == "any"
    assert json.loads(purchase.raw)["data"]["order_id"] == purchase.upstream_id
    assert fake.calls == [("getnumber", {"userkey": KEY, "method": "getnumber", "service": "tg", "country": "indiia"})]
    assert fake.requests == [("POST", "")]  # nothing in the URL, the key least of all
    assert fake.balance == Decimal("987.50")


def test_an_unmapped_country_is_a_provider_error_and_nothing_is_sent(fake, client):
    for call in (lambda: client.buy(BuyRequest(service="tg", country=999)), lambda: client.prices(country=999)):
        with pytest.raises(ProviderError) as caught:
            call()
        assert type(caught.value) is ProviderError and caught.value.raw == "UNMAPPED_COUNTRY:999"
    assert fake.calls == []


def test_config_country_slugs_add_and_override(fake, make_client):
    client = make_client(country_slugs={"999": "indiia", "22": "india-new"})
    client.buy(BuyRequest(service="tg", country=999))
    assert fake.calls[-1][1]["country"] == "indiia"
    assert CountryEntry(999, "indiia") in client.countries() and CountryEntry(22, "India") in client.countries()
    with pytest.raises(ProviderError, match="country_slugs") as caught:
        make_client(slot=2, country_slugs=["ru"]).buy(TG_INDIA)
    assert caught.value.raw == "BAD_CONFIG"


def test_buy_errors_from_the_fakes_rules(fake, make_client):
    client = make_client(country_slugs={"998": "atlantis"})
    fake.set_offer("ru", "wa", "5", 0)
    cases = [
        (BuyRequest(service="wa", country=0), NoNumbers, 500),
        (BuyRequest(service="zz", country=22), ProviderError, 502),
        (BuyRequest(service="tg", country=998), ProviderError, 505),
    ]
    for request, error, status in cases:
        with pytest.raises(ProviderError) as caught:
            client.buy(request)
        assert type(caught.value) is error and json.loads(caught.value.raw)["status"] == status
    fake.balance = "12.49"
    with pytest.raises(ProviderNoBalance):
        client.buy(TG_INDIA)
    fake.state.blocked = True
    with pytest.raises(ProviderError, match="blocked"):
        client.buy(TG_INDIA)
    fake.state.maintenance = True
    with pytest.raises(ProviderError, match="Technical work"):
        client.buy(TG_INDIA)
    assert fake.orders == {}


# --- one order ------------------------------------------------------------------------------------


def test_status_waits_then_reads_the_code_and_the_full_text(fake, client):
    order_id = client.buy(TG_INDIA).upstream_id
    waiting = client.status(order_id)
    assert waiting.state == UpstreamState.WAITING and json.loads(waiting.raw)["status"] == 400
    fake.deliver_sms(order_id, "753455", "Your Telegram code 753455", sender="Telegram")
    result = client.status(order_id)
    assert (result.state, result.code, result.text) == (UpstreamState.CODE, "753455", "Your Telegram code 753455")
    assert json.loads(result.raw)["data"]["id"] == order_id
    assert fake.methods() == ["getnumber", "getcode", "getcode", "wrongcode"]
    assert fake.calls[-1][1] == {"userkey": KEY, "method": "wrongcode", "order_id": order_id, "last_id": order_id}


def test_a_code_the_upstream_could_not_detect_is_given_as_text(fake, client):
    order_id = client.buy(TG_INDIA).upstream_id
    fake.deliver_sms(order_id, None, "Open https://t.me/login/abc")
    result = client.status(order_id)
    assert (result.state, result.code, result.text) == (UpstreamState.CODE, None, "Open https://t.me/login/abc")


def test_retry_asks_wrongcode_from_the_newest_sms_and_status_shows_the_next_one(fake, client):
    order_id = client.buy(TG_INDIA).upstream_id
    first = fake.deliver_sms(order_id, "111111", sms_id=int(order_id) + 7)  # the document: "may be different"
    assert client.status(order_id).code == "111111"
    assert client.set_status(order_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"
    assert fake.calls[-1][1]["last_id"] == str(first) and fake.methods()[-2:] == ["getcode", "wrongcode"]
    assert client.status(order_id).code == "111111"  # nothing new yet: the lifecycle ignores the same code
    second = fake.deliver_sms(order_id, "222222")
    assert client.status(order_id).code == "222222"
    assert client.set_status(order_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"
    assert [(method, params["last_id"]) for method, params in fake.calls[-2:]] == [
        ("wrongcode", str(first)),
        ("wrongcode", str(second)),
    ]
    fake.deliver_sms(order_id, "333333", "third")
    result = client.status(order_id)
    assert (result.code, result.text) == ("333333", "third")


def test_status_keeps_getcodes_sms_when_the_wrongcode_follow_up_fails(fake, client):
    order_id = bought(fake, client)
    fake.next_response("wrongcode", '{"status":502,"data":{"msg":"internal error"}}')
    assert client.status(order_id).code == "753455"
    fake.next_response("wrongcode", "<html>oops</html>")
    assert client.status(order_id).code == "753455"


def test_retry_without_an_sms_or_after_expiry_is_an_error(fake, client):
    order_id = client.buy(TG_INDIA).upstream_id
    with pytest.raises(ProviderError) as caught:
        client.set_status(order_id, SetStatus.RETRY)
    assert type(caught.value) is ProviderError and json.loads(caught.value.raw)["status"] == 400
    fake.deliver_sms(order_id, "1")
    fake.expire(order_id)
    with pytest.raises(ProviderError) as caught:
        client.set_status(order_id, SetStatus.RETRY)
    assert json.loads(caught.value.raw)["status"] == 500


def test_expired_and_refused_orders_read_as_cancelled(fake, client):
    expired, refused = client.buy(TG_INDIA).upstream_id, client.buy(TG_INDIA).upstream_id
    fake.expire(expired)
    assert client.set_status(refused, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert fake.methods()[-1] == "refusenumber" and fake.calls[-1][1]["order_id"] == refused
    for order_id in (expired, refused):
        assert client.status(order_id).state == UpstreamState.CANCELLED
    assert fake.balance == Decimal("1000") and fake.orders[int(refused)].state == "refused"
    with pytest.raises(ProviderError) as caught:  # already over: 500 "order lifetime expired"
        client.set_status(refused, SetStatus.CANCEL)
    assert type(caught.value) is ProviderError
    with pytest.raises(UnknownActivation):
        client.status("1")


def test_ready_and_finish_send_nothing(fake, client):
    order_id = bought(fake, client)
    fake_calls = len(fake.calls)
    assert client.set_status(order_id, SetStatus.READY) == "ACCESS_READY"
    assert client.set_status(order_id, SetStatus.FINISH) == "ACCESS_ACTIVATION"
    assert len(fake.calls) == fake_calls


def test_ban_is_bannumber(fake, client):
    order_id = client.buy(TG_INDIA).upstream_id
    assert client.ban(order_id) == "ACCESS_BANNED"
    assert fake.calls[-1] == ("bannumber", {"userkey": KEY, "method": "bannumber", "order_id": order_id})
    assert fake.orders[int(order_id)].state == "banned" and fake.balance == Decimal("1000")


# --- catalogue and account ------------------------------------------------------------------------


def test_prices_of_every_country_from_getallcount(fake, client):
    fake.next_response("getallcount", DOC_GETALLCOUNT)
    assert client.prices() == [
        PriceEntry(0, "vk", Decimal("62.3"), 3712),
        PriceEntry(0, "tg", Decimal("209.49"), 3861),
        PriceEntry(16, "ok", Decimal("38.2"), 4026),
        PriceEntry(16, "atp", Decimal("2.13"), 3979),
    ]
    assert fake.calls[-1][1] == {"userkey": KEY, "method": "getallcount"}


def test_prices_of_one_service_skip_unknown_slugs(fake, client):
    fake.next_response("getallcount", DOC_GETALLCOUNT_TG)
    assert client.prices(service="tg") == [
        PriceEntry(0, "tg", Decimal("214.15"), 4036),
        PriceEntry(16, "tg", Decimal("98.67"), 3654),
        PriceEntry(187, "tg", Decimal("41.03"), 4459),
    ]
    assert fake.calls[-1][1]["service"] == "tg"


def test_prices_of_one_country_are_getcounts_any_operator(fake, client):
    fake.next_response("getcount", DOC_GETCOUNT)
    assert client.prices(country=0) == [
        PriceEntry(0, "vk", Decimal("5"), 0),
        PriceEntry(0, "ok", Decimal("5"), 0),
        PriceEntry(0, "wapp", Decimal("2"), 1),
        PriceEntry(0, "vbr", Decimal("2"), 10),
    ]
    assert fake.calls[-1][1] == {"userkey": KEY, "method": "getcount", "country": "ru"}
    fake.next_response("getcount", DOC_GETCOUNT)
    assert client.prices(country=0, service="vbr") == [PriceEntry(0, "vbr", Decimal("2"), 10)]


def test_prices_from_the_fake_state(fake, client):
    fake.set_offer("ru", "vk", "62.3", 3712)
    fake.set_offer("ru", "vk", "70", 9, operator="MTS")
    assert client.prices() == [PriceEntry(22, "tg", Decimal("12.5"), 5), PriceEntry(0, "vk", Decimal("62.3"), 3712)]
    assert client.prices(country=0) == [PriceEntry(0, "vk", Decimal("62.3"), 3712)]
    assert client.prices(service="tg") == [PriceEntry(22, "tg", Decimal("12.5"), 5)]
    assert client.prices(country=187) == []


def test_countries_and_services_are_the_documents_lists(fake, client):
    countries, services = client.countries(), client.services()
    assert len(countries) == 131 and len({c.id for c in countries}) == 131
    assert {CountryEntry(0, "Russia"), CountryEntry(22, "India"), CountryEntry(187, "USA")} <= set(countries)
    assert {ServiceEntry("tg", "Telegram"), ServiceEntry("call", "Receiving a reset call")} <= set(services)
    assert fake.calls == []


@pytest.mark.parametrize(
    "body, balance",
    [
        (None, Decimal("1000.00")),  # the fake prints the document's `"balance":1000,00`
        ('{"status": 200, "data": {"balance": 100,00}}', Decimal("100.00")),
        ('{"status":200,"data":{"balance":100.5}}', Decimal("100.5")),
        ('{"status":"200","data":{"balance":"100,50"}}', Decimal("100.50")),
        ('{"status":200,"data":{"balance":7}}', Decimal("7")),
    ],
)
def test_balance(fake, client, body, balance):
    if body is not None:
        fake.next_response("getbalance", body)
    value = client.balance()
    assert value == balance and isinstance(value, Decimal)


# --- every documented status code -----------------------------------------------------------------

CALLS = {
    "getbalance": lambda client, order_id: client.balance(),
    "getcount": lambda client, order_id: client.prices(country=22),
    "getallcount": lambda client, order_id: client.prices(),
    "getnumber": lambda client, order_id: client.buy(TG_INDIA),
    "getcode": lambda client, order_id: client.status(order_id),
    "wrongcode": lambda client, order_id: client.set_status(order_id, SetStatus.RETRY),
    "refusenumber": lambda client, order_id: client.set_status(order_id, SetStatus.CANCEL),
    "bannumber": lambda client, order_id: client.ban(order_id),
}
PE, KEY_ERROR = ProviderError, ProviderBadKey
# The "Error codes (status)" list of each method in the document, and the exception each one fits.
DOCUMENTED = {
    "getbalance": {500: PE, 401: KEY_ERROR, 404: PE},
    "getcount": {500: PE, 401: KEY_ERROR, 404: PE},
    "getnumber": {401: KEY_ERROR, 404: PE, 500: NoNumbers, 502: PE, 503: PE, 504: ProviderNoBalance}
    | {505: PE, 506: PE, 507: PE},
    "getcode": {502: PE, 504: ProviderNoBalance, 505: UnknownActivation, 506: PE, 401: KEY_ERROR, 404: PE},
    "wrongcode": {500: PE, 501: PE, 502: PE, 504: PE, 505: UnknownActivation, 506: PE, 401: KEY_ERROR, 404: PE},
    "refusenumber": {500: PE, 502: PE, 506: PE, 401: KEY_ERROR, 404: PE},
    "bannumber": {500: PE, 502: PE, 506: PE, 401: KEY_ERROR, 404: PE},
    "getallcount": {502: PE, 401: KEY_ERROR, 404: PE},
}


@pytest.mark.parametrize(
    "method, status, error", [(m, s, e) for m, codes in DOCUMENTED.items() for s, e in codes.items()]
)
def test_every_documented_status_code_raises_its_exception(fake, client, method, status, error):
    order_id = bought(fake, client)  # getcode answers the SMS, so a RETRY reaches wrongcode
    body = json.dumps({"status": status, "data": {"msg": "as documented"}})
    fake.next_response(method, body)
    with pytest.raises(ProviderError) as caught:
        CALLS[method](client, order_id)
    assert type(caught.value) is error and caught.value.raw == body


def test_the_fakes_own_error_bodies(fake, make_client):
    with pytest.raises(ProviderBadKey):
        make_client(key="wrong-key-123").balance()
    fake.next_response("getnumber", DOC_NO_NUMBER)
    with pytest.raises(NoNumbers, match="No phone number was found"):
        make_client(slot=2).buy(TG_INDIA)
    with pytest.raises(ProviderError, match="Failed to generate a service count"):
        make_client(slot=3, country_slugs={"998": "atlantis"}).prices(country=998)


# --- garbage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", CALLS)
@pytest.mark.parametrize(
    "body, http_status",
    [
        ("<!DOCTYPE html><html><body>Cloudflare</body></html>", 200),
        ("", 200),
        (" \r\n", 200),
        ('{"status": 200, "data": {"balance": 1, "order_id": "1", "phone": "7", "code": "1"}}', 500),
        ('{"status": 400, "data": {}}', 502),
        ("<html>502 Bad Gateway</html>", 502),
        ("Not Found", 404),
        ("[1]", 200),
        ('"ok"', 200),
        ('{"status": "abc"}', 200),
        ('{"status": NaN}', 200),
    ],
)
def test_garbage_is_bad_response(fake, client, method, body, http_status):
    order_id = bought(fake, client)
    fake.next_response(method, body, status=http_status)
    with pytest.raises(BadResponse) as caught:
        CALLS[method](client, order_id)
    if http_status != 200:  # an HTTP error is never read as a protocol reply, however JSON its body
        assert caught.value.raw.startswith(f"HTTP {http_status}: ")


@pytest.mark.parametrize(
    "method, body",
    [
        ("getnumber", '{"status":200,"data":{"phone":"79969817867"}}'),
        ("getnumber", '{"status":200,"data":{"order_id":"1 2","phone":"79969817867"}}'),
        ("getnumber", '{"status":200,"data":{"order_id":"1","phone":"+7 996"}}'),
        ("getnumber", '{"status":200,"data":null}'),
        ("getcode", '{"status":200,"data":{"code":null,"fullSms":""}}'),
        ("getcode", '{"status":200,"data":[]}'),
        ("wrongcode", '{"status":200,"data":{"code":null}}'),
        ("getcount", '{"status":200,"data":{"ANY":{"vk":{"count":"1.5","price":"5"}}}}'),
        ("getcount", '{"status":200,"data":{"ANY":{"vk":{"count":1,"price":"abc"}}}}'),
        ("getcount", '{"status":200,"data":{"ANY":{"vk":{"count":1}}}}'),
        ("getcount", '{"status":200,"data":{"ANY":[1]}}'),
        ("getallcount", '{"ru":[{"vk":{"price":"1"}}]}'),
        ("getallcount", '{"ru":[{"vk":{"price":true,"count_all":"1"}}]}'),
        ("getallcount", '{"ru":[1]}'),
        ("getbalance", '{"status":200,"data":{"balance":"abc"}}'),
        ("getbalance", '{"status":200,"data":{"balance":"Infinity"}}'),
        ("getbalance", '{"status":200,"data":{}}'),
    ],
)
def test_wrong_shapes_are_bad_response(fake, client, method, body):
    order_id = bought(fake, client)
    fake.next_response(method, body)
    with pytest.raises(BadResponse) as caught:
        CALLS[method](client, order_id)
    assert caught.value.raw == body


# --- transport ------------------------------------------------------------------------------------


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1/"


def test_timeouts_and_dropped_connections_are_unknown_outcomes(fake, make_client):
    client = make_client(timeout_seconds=0.3)
    fake.delay(0.8, "getnumber")
    with pytest.raises(ProviderTimeout):
        client.buy(TG_INDIA)  # the fake still sells the number after the delay
    fake.delay(0)
    fake.next_disconnect("getnumber")
    with pytest.raises(ProviderTimeout):
        client.buy(TG_INDIA)
    assert fake.methods() == ["getnumber", "getnumber"]


@pytest.mark.parametrize("url", [None, "ftp://127.0.0.1/api/v1/"], ids=["refused", "not-http"])
def test_nothing_sent_is_unavailable(fake, make_client, url):
    with pytest.raises(ProviderUnavailable):
        make_client(url=url or closed_port_url()).buy(TG_INDIA)
    assert fake.calls == []


def test_the_key_is_never_in_a_url_a_log_or_an_error(fake, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client, refused = make_client(timeout_seconds=0.3), make_client(slot=2, url=closed_port_url())
    client.balance()
    fake.next_response("getbalance", f"error for userkey={KEY}", status=502)
    fake.next_response("getbalance", "", status=302, headers={"Location": f"{fake.url}?userkey={KEY}"})
    fake.next_response("getbalance", f"<html>{KEY}</html>")
    fake.next_response("getbalance", json.dumps({"status": 401, "data": {"msg": f"bad key {KEY}"}}))
    errors: list[ProviderError] = []
    for call in (client.balance,) * 4 + (refused.balance,):
        with pytest.raises(ProviderError) as caught:
            call()
        errors.append(caught.value)
    fake.delay(1, "getbalance")
    with pytest.raises(ProviderTimeout) as timeout:
        client.balance()
    errors.append(timeout.value)
    assert [type(e) for e in errors] == [BadResponse] * 3 + [ProviderBadKey, ProviderUnavailable, ProviderTimeout]
    for error in errors:
        assert KEY not in f"{error} {error!r} {error.raw} {error.__cause__} {error.__context__}"
    assert "urllib3" in {record.name.split(".")[0] for record in caplog.records}
    assert KEY not in caplog.text and all(verb == "POST" and query == "" for verb, query in fake.requests)
