"""SmsActivateClient's rent API against the fake SMS-Activate over real HTTP: every action, reply and error."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.upstream.sms_activate.conftest import KEY, TG_24, rented
from upstream.models import Country, Offer, Service
from upstream.providers.base import (
    FULL_RENT,
    BadResponse,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderUnavailable,
    RentPrice,
    RentRequest,
    RentSetStatus,
    RentState,
    UnknownActivation,
)
from upstream.providers.rent_sms import code_in, sms_digest

pytestmark = pytest.mark.django_db


# --- prices ---------------------------------------------------------------------------------------


def test_rent_prices_ask_every_rent_country_and_period(rent_fake, client):
    prices = client.rent_prices()
    assert sorted(prices, key=lambda p: (p.country, p.hours, p.service)) == [
        RentPrice(country=0, service="tg", hours=4, cost=Decimal("7.68"), count=0),
        RentPrice(country=0, service=FULL_RENT, hours=24, cost=Decimal("42.93"), count=20),
        RentPrice(country=0, service="tg", hours=24, cost=Decimal("21.95"), count=3),
        RentPrice(country=2, service="vk", hours=12, cost=Decimal("5.2"), count=42),
    ]
    asked = [(p["country"], p["rent_time"]) for a, p in rent_fake.calls if a == "getRentServicesAndCountries"]
    assert asked == [(c, str(h)) for c in ("0", "2") for h in (4, 12, 24, 168, 720)]
    assert rent_fake.actions()[0] == "getCountries"  # the upstream's own rent flags name the countries


def test_rent_prices_follow_the_config(rent_fake, make_client):
    client = make_client(rent_hours=[24], rent_countries=[2, 0])
    assert {(p.country, p.service) for p in client.rent_prices()} == {(0, FULL_RENT), (0, "tg")}
    assert rent_fake.actions() == ["getRentServicesAndCountries"] * 2


def test_rent_prices_without_rent_flags_ask_the_offer_countries_else_russia(rent_fake, client):
    unflagged = json.dumps({"2": {"id": 2, "eng": "Kazakhstan"}})
    rent_fake.next_response("getCountries", unflagged)
    assert client.rent_countries() == [0]
    Country.objects.create(id=2, name="Kazakhstan")
    Offer.objects.create(
        provider=client.provider, country_id=2, service=Service.objects.create(code="vk", name="VK"), cost=1, stock=1
    )
    rent_fake.next_response("getCountries", unflagged)
    assert client.rent_countries() == [2]


def test_rent_prices_leave_out_a_reply_about_another_country(rent_fake, make_client):
    rent_fake.next_response(
        "getRentServicesAndCountries",
        json.dumps({"countries": {"0": 2}, "services": {"vk": {"cost": 1, "quant": 1}}, "currency": 643}),
    )
    assert make_client(rent_hours=[12], rent_countries=[187]).rent_prices() == []


@pytest.mark.parametrize(
    "body",
    [
        '{"countries":{"0":0},"services":{"tg":{"cost":"x","quant":1}}}',
        '{"countries":{"0":0},"services":{"tg":{"cost":1}}}',
        '{"countries":{"0":0},"services":"tg"}',
        '{"countries":{"0":0}}',
        '{"countries":{"0":0},"services":{"tg":{"cost":-1,"quant":1}}}',
        "[1,2]",
        "not json",
    ],
)
def test_rent_prices_garbage_is_bad_response(rent_fake, make_client, body):
    rent_fake.next_response("getRentServicesAndCountries", body)
    with pytest.raises(BadResponse):
        make_client(rent_hours=[24], rent_countries=[0]).rent_prices()


def test_rent_prices_errors_propagate_but_out_of_stock_is_empty(rent_fake, make_client):
    client = make_client(rent_hours=[24], rent_countries=[0])
    rent_fake.next_response("getRentServicesAndCountries", '{"status":"error","message":"NO_NUMBERS"}')
    assert client.rent_prices() == []
    rent_fake.next_response("getRentServicesAndCountries", '{"status":"error","message":"BAD_KEY"}')
    with pytest.raises(ProviderBadKey):
        client.rent_prices()


@pytest.mark.parametrize(
    "config",
    [
        {"rent_hours": []},
        {"rent_hours": [0]},
        {"rent_hours": ["24"]},
        {"rent_hours": [2000]},
        {"rent_countries": "0"},
        {"rent_timezone": "Mars/Olympus"},
        {"rent_timezone": 3},
        {"rent_page_size": 0},
    ],
)
def test_bad_rent_config_sends_nothing(rent_fake, make_client, config):
    client = make_client(**config)
    with pytest.raises(ProviderUnavailable):
        client.rent_config_check()
    with pytest.raises(ProviderUnavailable):
        client.rent_prices() if "rent_page_size" not in config else client.rent_status("1")
    assert not [a for a in rent_fake.actions() if a != "getCountries"]


# --- renting --------------------------------------------------------------------------------------


def test_rent_sends_service_period_country_and_reads_the_end(rent_fake, client):
    before = datetime.now(UTC).replace(microsecond=0)
    result = client.rent(TG_24)
    assert result.upstream_id.isdigit() and result.phone.isdigit() and result.cost is None
    assert before + timedelta(hours=24) <= result.ends_at <= datetime.now(UTC) + timedelta(hours=24)
    assert rent_fake.calls == [
        (
            "getRentNumber",
            {"api_key": KEY, "action": "getRentNumber", "service": "tg", "rent_time": "24", "country": "0"},
        )
    ]
    assert rent_fake.balance == Decimal("1000") - Decimal("21.95")


def test_full_rent_is_service_full(rent_fake, client):
    client.rent(RentRequest(country=0, service=FULL_RENT, hours=24))
    assert rent_fake.calls[-1][1]["service"] == "full"


def test_end_date_is_read_in_the_rent_timezone(rent_fake, make_client):
    rent_fake.rent_tz = ZoneInfo("Europe/Moscow")
    result = make_client(rent_timezone="Europe/Moscow").rent(TG_24)
    end = rent_fake.rentals[int(result.upstream_id)].end
    assert result.ends_at.tzinfo is not None and abs(result.ends_at - end) < timedelta(seconds=1)
    assert json.loads(result.raw)["phone"]["endDate"] == end.astimezone(ZoneInfo("Europe/Moscow")).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )


@pytest.mark.parametrize(
    "request_, setup, error, raw",
    [
        (RentRequest(country=0, service="tg", hours=4), None, NoNumbers, "NO_NUMBERS"),
        (RentRequest(country=66, service="tg", hours=24), None, NoNumbers, "NO_NUMBERS"),
        (RentRequest(country=0, service="nope", hours=24), None, ProviderError, "BAD_SERVICE"),
        (TG_24, "poor", ProviderNoBalance, "NO_BALANCE"),
    ],
)
def test_rent_errors(rent_fake, client, request_, setup, error, raw):
    if setup == "poor":
        rent_fake.balance = 1
    with pytest.raises(error) as caught:
        client.rent(request_)
    assert caught.value.raw == raw and type(caught.value) is error


def test_bad_key_bare_or_json(rent_fake, make_client):
    with pytest.raises(ProviderBadKey):
        make_client(key="wrong").rent(TG_24)
    rent_fake.next_response("getRentNumber", '{"status":"error","message":"BAD_KEY"}')
    with pytest.raises(ProviderBadKey):
        make_client(slot=2).rent(TG_24)


@pytest.mark.parametrize(
    "body, error, raw",
    [
        ('{"status":"error","message":"ACCOUNT_INACTIVE"}', ProviderError, "ACCOUNT_INACTIVE"),
        ('{"status":"error","message":"CHANNELS_LIMIT"}', ProviderError, "CHANNELS_LIMIT"),
        ('{"status":"error","message":"SERVER_ERROR"}', ProviderError, "SERVER_ERROR"),
        ('{"status":"error","message":"SOMETHING_NEW"}', ProviderError, "SOMETHING_NEW"),
        ('{"status":"error","message":"a sentence"}', ProviderError, '{"status":"error","message":"a sentence"}'),
        ('{"status":"error"}', ProviderError, '{"status":"error"}'),
        ('{"status":"success","phone":{"id":"x1","endDate":"2020-01-31T12:01:52","number":"7995"}}', BadResponse, None),
        ('{"status":"success","phone":{"id":1,"endDate":"tomorrow","number":"7995"}}', BadResponse, None),
        ('{"status":"success","phone":{"id":1,"endDate":"2020-01-31T12:01:52","number":"n/a"}}', BadResponse, None),
        ('{"status":"success"}', BadResponse, None),
        ("<html>Cloudflare</html>", BadResponse, None),
        ("", BadResponse, None),
        ("ACCESS_NUMBER:1:7999", BadResponse, None),
    ],
)
def test_rent_replies(rent_fake, client, body, error, raw):
    rent_fake.next_response("getRentNumber", body)
    with pytest.raises(error) as caught:
        client.rent(TG_24)
    assert type(caught.value) is error
    if raw is not None:
        assert caught.value.raw == raw


def test_documented_example_reply(rent_fake, client):
    rent_fake.next_response(
        "getRentNumber",
        '{ "status": "success", "phone": { "id": 1049, "endDate": "2020-01-31T12:01:52", "number": "79959707564" } }',
    )
    result = client.rent(TG_24)
    assert (result.upstream_id, result.phone, result.ends_at) == (
        "1049",
        "79959707564",
        datetime(2020, 1, 31, 12, 1, 52, tzinfo=UTC),
    )


# --- status ---------------------------------------------------------------------------------------


def test_status_waiting_then_sms_oldest_first(rent_fake, client):
    rental = rented(client, rent_fake)
    assert client.rent_status(rental.upstream_id).state == RentState.ACTIVE
    assert client.rent_status(rental.upstream_id).sms == ()
    rent_fake.deliver_rent_sms(rental.upstream_id, "Telegram code 12345", sender="Telegram")
    rent_fake.age_rental(rental.upstream_id, 5)
    rent_fake.deliver_rent_sms(rental.upstream_id, "777")
    status = client.rent_status(rental.upstream_id)
    assert status.state == RentState.ACTIVE
    assert [(s.text, s.sender, s.code) for s in status.sms] == [
        ("Telegram code 12345", "Telegram", "12345"),
        ("777", "79180230628", "777"),
    ]
    assert status.sms[0].received_at < status.sms[1].received_at and status.sms[0].received_at.tzinfo is not None
    assert status.sms == client.rent_status(rental.upstream_id).sms  # stable ids


def test_status_reads_every_page(rent_fake, make_client):
    client = make_client(rent_page_size=2)
    rental = rented(client, rent_fake)
    for n in range(5):
        rent_fake.deliver_rent_sms(rental.upstream_id, f"message {n}")
        rent_fake.age_rental(rental.upstream_id, 1)
    status = client.rent_status(rental.upstream_id)
    assert [s.text for s in status.sms] == [f"message {n}" for n in range(5)]
    assert [(p["page"], p["size"]) for _, p in rent_fake.calls] == [("1", "2"), ("2", "2"), ("3", "2")]


def test_status_pages_shifted_by_a_new_sms_give_no_duplicates(rent_fake, make_client):
    client = make_client(rent_page_size=2)

    def page(quantity, *items):
        values = {
            str(i): {"phoneFrom": "x", "text": t, "service": "ot", "date": f"2020-01-30 14:0{t}:00"}
            for i, t in enumerate(items)
        }
        return json.dumps({"status": "success", "quantity": str(quantity), "values": values})

    rent_fake.next_response("getRentStatus", page(3, "3", "2"))
    rent_fake.next_response("getRentStatus", page(4, "2", "1"))  # "4" came in between
    status = client.rent_status("1")
    assert [s.text for s in status.sms] == ["1", "2", "3"]


@pytest.mark.parametrize(
    "end, state",
    [
        ("finish", RentState.FINISHED),
        ("cancel", RentState.CANCELLED),
        ("revoke", RentState.CANCELLED),
        ("expire", RentState.FINISHED),
    ],
)
def test_status_of_an_ended_rental(rent_fake, client, end, state):
    rental = rented(client, rent_fake)
    if end == "finish":
        client.rent_set_status(rental.upstream_id, RentSetStatus.FINISH)
    elif end == "cancel":
        client.rent_set_status(rental.upstream_id, RentSetStatus.CANCEL)
    elif end == "revoke":
        rent_fake.revoke_rental(rental.upstream_id)
    else:
        rent_fake.age_rental(rental.upstream_id, 24 * 3600 + 1)
    status = client.rent_status(rental.upstream_id)
    assert status.state == state and status.sms == ()


@pytest.mark.parametrize("body", ["STATUS_WAIT_CODE", "STATUS_FINISH", "STATUS_CANCEL", "STATUS_REVOKE"])
def test_status_tokens_may_come_bare(rent_fake, client, body):
    rent_fake.next_response("getRentStatus", body)
    expected = {"STATUS_WAIT_CODE": RentState.ACTIVE, "STATUS_FINISH": RentState.FINISHED}.get(
        body, RentState.CANCELLED
    )
    assert client.rent_status("1").state == expected


def test_status_unknown_or_missing_id(rent_fake, client):
    with pytest.raises(UnknownActivation) as caught:
        client.rent_status("999")
    assert caught.value.raw == "INVALID_PHONE"
    with pytest.raises(UnknownActivation) as caught:
        client.rent_status("")
    assert caught.value.raw == "NO_ID_RENT"


@pytest.mark.parametrize(
    "body",
    [
        '{"status":"success","quantity":"1","values":{"0":{"phoneFrom":"1","date":"2020-01-30 14:31:58"}}}',
        '{"status":"success","quantity":"x","values":{}}',
        '{"status":"success","quantity":"1","values":{"0":{"text":"1","date":"yesterday"}}}',
        '{"status":"success","quantity":"1","values":"abc"}',
        '{"status":"ok"}',
        "STATUS_OK:1234",
        "<html></html>",
    ],
)
def test_status_garbage(rent_fake, client, body):
    rent_fake.next_response("getRentStatus", body)
    with pytest.raises(BadResponse):
        client.rent_status("1")


def test_documented_status_example(rent_fake, client):
    rent_fake.next_response(
        "getRentStatus",
        '{ "status": "success", "quantity": "2", "values": { "0": { "phoneFrom": "79180230628", "text": "5", '
        '"service": "ot", "date": "2020-01-30 14:31:58" }, "1": { "phoneFrom": "79180230628", "text": "4", '
        '"service": "ot", "date": "2020-01-30 14:04:16" } } }',
    )
    status = client.rent_status("1049")
    assert [(s.text, s.received_at) for s in status.sms] == [
        ("4", datetime(2020, 1, 30, 14, 4, 16, tzinfo=UTC)),
        ("5", datetime(2020, 1, 30, 14, 31, 58, tzinfo=UTC)),
    ]
    assert status.sms[1].sms_id == sms_digest("2020-01-30 14:31:58", "79180230628", "5")


def test_code_in():
    assert code_in("Your code: 123-456. Do not share") == "123456"
    assert code_in("G-482913 is your Google code") == "482913"
    assert code_in("4821") == "4821"
    assert code_in("Welcome aboard") is None
