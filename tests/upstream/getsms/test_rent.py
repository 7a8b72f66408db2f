"""GetSmsClient's rentals (rent API v2) against the fake `/api/v2/rent/` server over real HTTP: every method,
the document's bodies and status codes, the period mapping, the refund window, garbage and timeouts."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.fakes.getsms_rent import FakeGetSmsRent
from tests.upstream.getsms.conftest import KEY
from upstream.models import Provider
from upstream.providers.base import (
    FULL_RENT,
    BadResponse,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    RentCannotCancel,
    RentEnded,
    RentPrice,
    RentRequest,
    RentSetStatus,
    RentState,
    UnknownActivation,
    Unsupported,
)
from upstream.providers.getsms import GetSmsClient
from upstream.providers.getsms_rent import period_of, rent_url_of

pytestmark = pytest.mark.django_db

VK_RU_DAY = RentRequest(country=0, service="vk", hours=24)
WEEK_PRICES = {f"{n}day": str(100 + 10 * n) for n in range(1, 8)}

# The document's sample bodies.
DOC_PRICES = json.dumps(
    {
        "status": 200,
        "data": {
            "vk": {
                "count": "233",
                "price": {"1day": "101.9", "2day": "144.7", "3day": "182.4", "4day": "215", "5day": "241.5"}
                | {"6day": "251.7", "7day": "275.1"},
            },
            "vi": {"count": "316", "price": {"1day": "17.7", "7day": "47.8"}},
        },
    }
)
DOC_NUMBER = (
    '{"status":200,"data":{"order_id":14763471,"phone":"79510405923","end_time_timestamp":1702981048,'
    '"end_time":"2023-12-19 13:17:29","start_timestamp":1702881048}}'
)
DOC_SMS = (
    '{"status":200,"data":{"msg":"List of all SMS","sms_list":[{"date":"2023-12-14 17:11:51","text":'
    '"Verification code for Rambler&Co: 435345"},{"date":"2023-12-15 15:36:56","text":'
    '"Verification code for Rambler&Co: 520455"}]}}'
)
DOC_PROLONG = '{"status":200,"data":{"phone":"79510405923","msg":"You have extended the rental of the number"}}'
DOC_ORDERS = (
    '[{"id":"512","phone":"79222222222","status":"0","date_at":"2023-09-29 09:56:38"},'
    '{"id":"559","phone":"79222222222","status":"1","date_at":"2023-10-10 07:15:07"},'
    '{"id":"886","phone":"79222222222","status":"2","date_at":"2023-12-19 13:00:58"}]'
)


def error(status: int, msg: str = "message") -> str:
    return json.dumps({"status": status, "data": {"msg": msg}})


@pytest.fixture
def rent_fake():
    with FakeGetSmsRent(api_key=KEY) as server:
        server.set_offer("ru", "vk", 5, WEEK_PRICES)
        server.set_offer("indiia", "tg", 2, {"1day": "40", "3day": "90"})
        yield server


@pytest.fixture
def make_rent_client(rent_fake):
    def make(slot: int = 1, *, base_url: str = "https://get-sms.example/api/v1/", **config) -> GetSmsClient:
        config.setdefault("rent_url", rent_fake.url)
        provider = Provider.objects.create(
            slot=slot, protocol="getsms", base_url=base_url, api_key=KEY, currency="RUB", config=config
        )
        return GetSmsClient(provider)

    return make


@pytest.fixture
def client(make_rent_client):
    return make_rent_client()


# --- the endpoint ------------------------------------------------------------------------------------


def test_the_rent_url_is_config_or_derived_from_the_v1_url():
    def provider(base_url, **config):
        return Provider(slot=1, protocol="getsms", base_url=base_url, config=config)

    assert rent_url_of(provider("https://get-sms.com/api/v1/")) == "https://get-sms.com/api/v2/rent/"
    assert rent_url_of(provider("https://get-sms.com/api/v1")) == "https://get-sms.com/api/v2/rent/"
    assert (
        rent_url_of(provider("https://x.example/y", rent_url=" https://r.example/rent/ ")) == "https://r.example/rent/"
    )
    assert rent_url_of(provider("https://get-sms.com/stubs/handler_api.php")) is None


def test_the_derived_url_reaches_the_rent_api(rent_fake):
    base_url = rent_fake.url.replace("/api/v2/rent/", "/api/v1/")
    provider = Provider.objects.create(slot=1, protocol="getsms", base_url=base_url, api_key=KEY, currency="RUB")
    client = GetSmsClient(provider)
    assert client.supports_rent
    assert client.rent(VK_RU_DAY).phone.startswith("7")
    assert rent_fake.methods() == ["getnumber"]


def test_without_a_rent_url_rent_is_unsupported_and_nothing_sent(rent_fake):
    provider = Provider.objects.create(
        slot=1, protocol="getsms", base_url="http://127.0.0.1:9/other", api_key=KEY, currency="RUB"
    )
    client = GetSmsClient(provider)
    assert client.supports_rent is False
    with pytest.raises(Unsupported):
        client.rent(VK_RU_DAY)
    assert rent_fake.calls == []


def test_every_call_posts_the_key_in_the_form(rent_fake, client):
    client.rent_prices()
    client.rent(VK_RU_DAY)
    assert rent_fake.requests and all(verb == "POST" and query == "" for verb, query in rent_fake.requests)
    assert all(params["userkey"] == KEY for _, params in rent_fake.calls)


# --- prices ------------------------------------------------------------------------------------------


def test_rent_prices_read_the_documents_body(rent_fake, make_rent_client):
    client = make_rent_client(rent_countries=[0])
    rent_fake.next_response("getcountprices", DOC_PRICES)
    prices = client.rent_prices()
    assert rent_fake.calls[0][1]["country"] == "ru"
    assert RentPrice(country=0, service="vk", hours=24, cost=Decimal("101.9"), count=233) in prices
    assert RentPrice(country=0, service="vk", hours=168, cost=Decimal("275.1"), count=233) in prices
    assert sorted(p.hours for p in prices if p.service == "vk") == [24, 48, 72, 96, 120, 144, 168]
    assert [(p.hours, p.cost) for p in prices if p.service == "vi"] == [(24, Decimal("17.7")), (168, Decimal("47.8"))]


def test_rent_prices_ask_each_configured_country_and_skip_those_without_rent(rent_fake, make_rent_client):
    client = make_rent_client(rent_countries=[0, 22, 36], country_slugs={"36": "atlantis"})
    prices = client.rent_prices()
    assert [params["country"] for _, params in rent_fake.calls] == ["ru", "indiia", "atlantis"]
    assert {(p.country, p.service, p.hours) for p in prices if p.country == 22} == {(22, "tg", 24), (22, "tg", 72)}
    assert len([p for p in prices if p.country == 0]) == 7


def test_rent_prices_default_to_every_mapped_country(rent_fake, client):
    prices = client.rent_prices()
    assert len(rent_fake.calls) > 100 and {p.country for p in prices} == {0, 22}


def test_week_keys_are_read_and_unknown_keys_skipped(rent_fake, make_rent_client):
    body = {"status": 200, "data": {"wa": {"count": 3, "price": {"2week": "500", "month": "9", "1day": 10}}}}
    rent_fake.next_response("getcountprices", json.dumps(body))
    prices = make_rent_client(rent_countries=[0]).rent_prices()
    assert sorted((p.hours, p.cost) for p in prices) == [(24, Decimal("10")), (336, Decimal("500"))]


def test_rent_prices_bad_key_raises(rent_fake, make_rent_client):
    rent_fake.next_response("getcountprices", error(401))
    with pytest.raises(ProviderBadKey):
        make_rent_client(rent_countries=[0, 22]).rent_prices()


def test_bad_rent_countries_config(make_rent_client):
    with pytest.raises(ProviderError, match="rent_countries"):
        make_rent_client(rent_countries="ru").rent_prices()


# --- renting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hours,kind,period", [(24, "day", 1), (72, "day", 3), (168, "day", 7), (336, "week", 2), (672, "week", 4)]
)
def test_hours_map_to_the_v2_period(rent_fake, client, hours, kind, period):
    rented = client.rent(RentRequest(country=0, service="vk", hours=hours))
    params = rent_fake.calls[-1][1]
    assert (params["type"], params["period"], params["service"], params["country"]) == (kind, str(period), "vk", "ru")
    assert period_of(hours) == (kind, period)
    assert abs(rented.ends_at - datetime.now(UTC) - timedelta(hours=hours)) < timedelta(seconds=5)


@pytest.mark.parametrize("hours", [12, 25, 192, 840, 0, -24])
def test_hours_v2_cannot_express_are_refused_before_sending(rent_fake, client, hours):
    with pytest.raises(ProviderError) as caught:
        client.rent(RentRequest(country=0, service="vk", hours=hours))
    assert caught.value.raw == f"BAD_RENT_PERIOD:{hours}"
    assert rent_fake.calls == []


def test_full_rent_and_unmapped_countries_are_refused_before_sending(rent_fake, client):
    with pytest.raises(ProviderError) as full:
        client.rent(RentRequest(country=0, service=FULL_RENT, hours=24))
    with pytest.raises(ProviderError) as unmapped:
        client.rent(RentRequest(country=9999, service="vk", hours=24))
    assert (full.value.raw, unmapped.value.raw) == ("NO_FULL_RENT", "UNMAPPED_COUNTRY:9999")
    assert rent_fake.calls == []


def test_rent_reads_the_documents_body(rent_fake, client):
    rent_fake.next_response("getnumber", DOC_NUMBER)
    rented = client.rent(VK_RU_DAY)
    assert (rented.upstream_id, rented.phone, rented.cost) == ("14763471", "79510405923", None)
    assert rented.ends_at == datetime(2023, 12, 19, 10, 17, 28, tzinfo=UTC)
    assert rented.raw == DOC_NUMBER


def test_rent_reserves_the_price(rent_fake, client):
    rented = client.rent(RentRequest(country=0, service="vk", hours=48))
    assert rent_fake.balance == Decimal("880")
    assert rent_fake.rentals[int(rented.upstream_id)].phone == rented.phone


@pytest.mark.parametrize(
    "status,exception",
    [
        (401, ProviderBadKey),
        (404, ProviderError),
        (500, NoNumbers),
        (502, ProviderError),
        (503, ProviderError),
        (504, ProviderNoBalance),
        (505, ProviderError),
        (506, ProviderError),
        (507, ProviderError),
    ],
)
def test_every_documented_getnumber_error(rent_fake, client, status, exception):
    rent_fake.next_response("getnumber", error(status))
    with pytest.raises(exception) as caught:
        client.rent(VK_RU_DAY)
    assert type(caught.value) is exception and json.loads(caught.value.raw)["status"] == status


def test_the_fakes_getnumber_rules(rent_fake, make_rent_client):
    client = make_rent_client(country_slugs={"36": "canada", "99": "atlantis"})
    rent_fake.set_offer("ru", "wa", 0, {"1day": "5"})
    cases = [
        (RentRequest(country=0, service="wa", hours=24), NoNumbers),
        (RentRequest(country=0, service="zz", hours=24), ProviderError),  # 502 no such service
        (RentRequest(country=99, service="vk", hours=24), ProviderError),  # 505 no such country
        (RentRequest(country=22, service="tg", hours=48), ProviderError),  # 506: 2day not priced there
    ]
    for request, exception in cases:
        with pytest.raises(exception) as caught:
            client.rent(request)
        assert type(caught.value) is exception
    rent_fake.balance = "1"
    with pytest.raises(ProviderNoBalance):
        client.rent(VK_RU_DAY)
    rent_fake.state.maintenance = True
    with pytest.raises(ProviderError, match="507"):
        client.rent(VK_RU_DAY)


def test_a_wrong_key_is_bad_key(rent_fake, make_rent_client):
    client = make_rent_client()
    client.provider.api_key = "wrong"
    with pytest.raises(ProviderBadKey):
        client.rent(VK_RU_DAY)


# --- status ------------------------------------------------------------------------------------------


def test_status_waits_then_lists_every_sms_in_utc(rent_fake, client):
    rented = client.rent(VK_RU_DAY)
    assert client.rent_status(rented.upstream_id).state == RentState.ACTIVE
    assert client.rent_status(rented.upstream_id).sms == ()
    rent_fake.deliver_sms(rented.upstream_id, "code 111", at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    rent_fake.deliver_sms(rented.upstream_id, "code 222")
    status = client.rent_status(rented.upstream_id)
    assert status.state == RentState.ACTIVE and [sms.text for sms in status.sms] == ["code 111", "code 222"]
    assert status.sms[0].received_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert status.sms[0].sender == "" and status.sms[0].code is None
    again = client.rent_status(rented.upstream_id)
    assert [sms.sms_id for sms in again.sms] == [sms.sms_id for sms in status.sms]


def test_status_reads_the_documents_body_and_identical_sms_keep_distinct_ids(rent_fake, client):
    rent_fake.next_response("getcode", DOC_SMS)
    status = client.rent_status("888")
    assert [sms.received_at for sms in status.sms] == [
        datetime(2023, 12, 14, 14, 11, 51, tzinfo=UTC),
        datetime(2023, 12, 15, 12, 36, 56, tzinfo=UTC),
    ]
    same = {"date": "2023-12-14 17:11:51", "text": "code 1"}
    rent_fake.next_response("getcode", json.dumps({"status": 200, "data": {"sms_list": [same, same]}}))
    ids = [sms.sms_id for sms in client.rent_status("888").sms]
    assert len(set(ids)) == 2


def test_ended_rentals(rent_fake, client):
    expired, cancelled, completed = (client.rent(VK_RU_DAY).upstream_id for _ in range(3))
    client.rent_set_status(cancelled, RentSetStatus.CANCEL)
    rent_fake.complete(completed)
    rent_fake.end_now(expired)
    assert client.rent_status(expired).state == RentState.FINISHED
    assert client.rent_status(cancelled).state == RentState.CANCELLED
    assert client.rent_status(completed).state == RentState.FINISHED
    with pytest.raises(UnknownActivation):
        client.rent_status("1")


def test_a_rental_runs_out_at_its_end(rent_fake, client):
    rented = client.rent(VK_RU_DAY)
    rent_fake.advance(24 * 3600 + 1)
    assert client.rent_status(rented.upstream_id).state == RentState.FINISHED
    assert rent_fake.calls[-1][0] == "getorders"


def test_status_501_asks_getorders_and_a_failure_there_raises(rent_fake, client):
    rent_fake.next_response("getcode", error(501))
    rent_fake.next_response("getorders", "<html>down</html>")
    with pytest.raises(BadResponse):
        client.rent_status("886")
    rent_fake.next_response("getcode", error(501))
    rent_fake.next_response("getorders", DOC_ORDERS)
    assert client.rent_status("886").state == RentState.CANCELLED


# --- cancel, finish, delete --------------------------------------------------------------------------


def test_cancel_in_the_refund_window_refunds(rent_fake, client):
    rented = client.rent(VK_RU_DAY)
    rent_fake.advance(19 * 60)
    assert client.rent_set_status(rented.upstream_id, RentSetStatus.CANCEL) == "ACCESS_CANCEL"
    assert rent_fake.balance == Decimal("1000")
    assert rent_fake.calls[-1][1]["rentid"] == rented.upstream_id
    with pytest.raises(RentEnded):  # 501: already cancelled
        client.rent_set_status(rented.upstream_id, RentSetStatus.CANCEL)


def test_cancel_after_20_minutes_or_an_sms_is_refused(rent_fake, client):
    late, answered = client.rent(VK_RU_DAY).upstream_id, client.rent(VK_RU_DAY).upstream_id
    rent_fake.deliver_sms(answered, "code 1")
    rent_fake.advance(20 * 60 + 5)
    for upstream_id in (late, answered):
        with pytest.raises(RentCannotCancel):
            client.rent_set_status(upstream_id, RentSetStatus.CANCEL)
    assert rent_fake.balance == Decimal("780")


def test_cancel_of_completed_expired_or_unknown(rent_fake, client):
    rented = client.rent(VK_RU_DAY).upstream_id
    rent_fake.complete(rented)
    with pytest.raises(RentEnded):
        client.rent_set_status(rented, RentSetStatus.CANCEL)
    with pytest.raises(UnknownActivation):
        client.rent_set_status("1", RentSetStatus.CANCEL)
    rent_fake.next_response("refuse", error(500, "Rent ID not provided"))
    with pytest.raises(ProviderError, match="500"):
        client.rent_set_status("1", RentSetStatus.CANCEL)


def test_finish_is_unsupported_and_sends_nothing(rent_fake, client):
    with pytest.raises(Unsupported):
        client.rent_set_status("888", RentSetStatus.FINISH)
    assert rent_fake.calls == []


def test_delete_and_the_order_list(rent_fake, client):
    rented = client.rent(VK_RU_DAY).upstream_id
    orders = client.rent_orders()
    assert [(o["id"], o["status"]) for o in orders] == [(rented, "1")]
    assert client.rent_delete(rented) == "ORDER_DELETED"
    assert client.rent_orders() == []
    rent_fake.next_response("getorders", DOC_ORDERS)
    assert [o["id"] for o in client.rent_orders()] == ["512", "559", "886"]
    rent_fake.next_response("delete", error(500))
    with pytest.raises(ProviderError):
        client.rent_delete("")


# --- prolong -----------------------------------------------------------------------------------------


def test_prolong_extends_the_end_and_charges(rent_fake, client):
    rented = client.rent(VK_RU_DAY)
    longer = client.rent_prolong(rented.upstream_id, 336)
    assert rent_fake.calls[-2][1] | {"userkey": ""} == {
        "method": "prolong",
        "type": "week",
        "period": "2",
        "rentid": rented.upstream_id,
        "userkey": "",
    }
    assert (longer.upstream_id, longer.phone) == (rented.upstream_id, rented.phone)
    assert abs(longer.ends_at - rented.ends_at - timedelta(hours=336)) < timedelta(seconds=2)
    assert rent_fake.balance == Decimal("1000") - 110 - 2 * 170


def test_prolong_reads_the_documents_body_and_survives_a_failed_lookup(rent_fake, client):
    rent_fake.next_response("prolong", DOC_PROLONG)
    rent_fake.next_response("getorders", "garbage")
    longer = client.rent_prolong("559", 24)
    assert (longer.phone, longer.ends_at, longer.raw) == ("79510405923", None, DOC_PROLONG)
    rent_fake.next_response("prolong", DOC_PROLONG)
    rent_fake.next_response("getorders", DOC_ORDERS)
    assert client.rent_prolong("559", 24).ends_at == datetime(2023, 10, 10, 4, 15, 7, tzinfo=UTC)


def test_prolong_errors(rent_fake, client):
    rented = client.rent(VK_RU_DAY).upstream_id
    with pytest.raises(ProviderError) as bad:
        client.rent_prolong(rented, 30)
    assert bad.value.raw == "BAD_RENT_PERIOD:30" and rent_fake.calls[-1][0] == "getnumber"
    with pytest.raises(UnknownActivation):
        client.rent_prolong("1", 24)
    rent_fake.balance = "0"
    with pytest.raises(ProviderNoBalance):
        client.rent_prolong(rented, 24)
    rent_fake.advance(2 * 86400)
    with pytest.raises(RentEnded):
        client.rent_prolong(rented, 24)
    for status in (504, 507, 401):
        rent_fake.next_response("prolong", error(status))
        with pytest.raises(ProviderError) as caught:
            client.rent_prolong(rented, 24)
        assert type(caught.value) is (ProviderBadKey if status == 401 else ProviderError)


# --- garbage and the transport -----------------------------------------------------------------------

CALLS = {
    "getcountprices": lambda c: c.rent_prices(),
    "getnumber": lambda c: c.rent(VK_RU_DAY),
    "getcode": lambda c: c.rent_status("888"),
    "refuse": lambda c: c.rent_set_status("888", RentSetStatus.CANCEL),
    "prolong": lambda c: c.rent_prolong("888", 24),
    "getorders": lambda c: c.rent_orders(),
}
GARBAGE = [
    ("<html><body>502 Bad Gateway</body></html>", 200),
    ("", 200),
    ("not json", 200),
    ('{"data": {}}', 200),
    ('{"status": "ok"}', 200),
    ("[1, 2]", 200),
    ('{"status": 200, "data": {}}', 502),
]


@pytest.mark.parametrize("method", CALLS)
@pytest.mark.parametrize("body,http_status", GARBAGE)
def test_garbage_is_bad_response(rent_fake, make_rent_client, method, body, http_status):
    client = make_rent_client(rent_countries=[0])
    rent_fake.next_response(method, body, status=http_status)
    with pytest.raises(BadResponse):
        CALLS[method](client)


@pytest.mark.parametrize(
    "method,data",
    [
        ("getcountprices", [1]),
        ("getcountprices", {"vk": {"count": "x", "price": {"1day": "1"}}}),
        ("getcountprices", {"vk": {"count": "1", "price": {"1day": "cheap"}}}),
        ("getcountprices", {"vk": {"count": "1", "price": ["1"]}}),
        ("getnumber", {"order_id": "1 2", "phone": "79510405923"}),
        ("getnumber", {"order_id": 5, "phone": "call me"}),
        ("getnumber", {"order_id": 5, "phone": "7951", "end_time_timestamp": "soon"}),
        ("getnumber", []),
        ("getcode", {"sms_list": "none"}),
        ("getcode", {"sms_list": [{"text": "no date"}]}),
    ],
)
def test_wrong_shapes_are_bad_response(rent_fake, make_rent_client, method, data):
    client = make_rent_client(rent_countries=[0])
    rent_fake.next_response(method, json.dumps({"status": 200, "data": data}))
    with pytest.raises(BadResponse):
        CALLS[method](client)


def test_timeouts_and_dropped_connections_are_unknown_outcomes(rent_fake, make_rent_client):
    client = make_rent_client(timeout_seconds=0.3)
    rent_fake.delay(0.8, "getnumber")
    with pytest.raises(ProviderTimeout):
        client.rent(VK_RU_DAY)
    rent_fake.delay(0)
    rent_fake.next_disconnect("prolong")
    with pytest.raises(ProviderTimeout):
        client.rent_prolong("888", 24)
    rent_fake.next_disconnect("refuse")
    with pytest.raises(ProviderTimeout):
        client.rent_set_status("888", RentSetStatus.CANCEL)


def test_the_key_never_shows_in_errors(rent_fake, client):
    rent_fake.next_response("getnumber", f"<html>{KEY}</html>")
    rent_fake.next_response("getnumber", json.dumps({"status": 401, "data": {"msg": f"bad {KEY}"}}))
    for _ in range(2):
        with pytest.raises(ProviderError) as caught:
            client.rent(VK_RU_DAY)
        assert KEY not in f"{caught.value} {caught.value.raw}"
