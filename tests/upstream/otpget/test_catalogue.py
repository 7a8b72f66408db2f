"""OtpGetClient's catalogue (getCountries, getServices labels) and balance against the fake OTPGet server."""

import time
from decimal import Decimal

import pytest

from tests.upstream.otpget.conftest import GARBAGE, KEY
from upstream.providers.base import BadResponse, CountryEntry, PriceEntry, ServiceEntry

pytestmark = pytest.mark.django_db


def test_countries_of_the_configured_type(fake, client, make_client):
    assert client.countries() == [CountryEntry(id=61, name="Pakistan"), CountryEntry(id=12, name="USA")]
    assert fake.calls[0][1] == {"api_key": KEY, "action": "getCountries", "type": "1"}
    assert make_client(slot=2, config={"type": 2}).countries() == [CountryEntry(id=33, name="Canada")]
    assert make_client(slot=3, config={"type": 4}).countries() == []  # the fake answers {"4":[]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"1":[{"id":"33","name":"Canada"},{"id":15,"name":" England "}],"2":[{"id":"61","name":"Pakistan"}]}', 2),
        ('{"2":[{"id":"61","name":"Pakistan"}]}', 0),
        ("[]", 0),
        ('{"1":[]}', 0),
        ('{"1":{"3":{"id":"61","name":"Pakistan"}}}', 1),
    ],
)
def test_countries_shapes(fake, client, body, expected):
    fake.next_response("getCountries", body)
    entries = client.countries()
    assert len(entries) == expected and all(isinstance(e.id, int) and e.name == e.name.strip() for e in entries)
    if expected == 2:
        assert entries == [CountryEntry(id=33, name="Canada"), CountryEntry(id=15, name="England")]


@pytest.mark.parametrize(
    "body",
    [
        *GARBAGE[:6],
        '{"1":"Pakistan"}',
        '{"x":[]}',
        '{"1":[{"id":"PK","name":"Pakistan"}]}',
        '{"1":[{"id":"61"}]}',
        '{"1":[{"id":"61","name":""}]}',
        '{"1":[{"id":true,"name":"Pakistan"}]}',
        '{"1":[["61","Pakistan"]]}',
        '"1"',
    ],
)
def test_countries_garbage_is_bad_response(fake, client, body):
    fake.next_response("getCountries", body)
    with pytest.raises(BadResponse) as caught:
        client.countries()
    assert caught.value.raw == body


def test_services_and_prices_from_every_country(fake, client):
    assert client.services() == [ServiceEntry(code="101", name="Telegram"), ServiceEntry(code="102", name="WhatsApp")]
    assert client.prices() == [
        PriceEntry(country=61, service="101", cost=Decimal("50"), count=1),
        PriceEntry(country=61, service="102", cost=Decimal("60"), count=1),
        PriceEntry(country=12, service="101", cost=Decimal("80"), count=1),
    ]
    services_calls = [params for action, params in fake.calls if action == "getServices"]
    assert services_calls[0] == {"api_key": KEY, "action": "getServices", "country": "61", "type": "1"}
    # countries, services, prices in one client (a catalogue sync): getCountries once, getServices once per country
    client.countries()
    assert fake.actions() == ["getCountries", "getServices", "getServices"]


def test_prices_of_one_country_or_service_and_no_cache_when_disabled(fake, make_client):
    client = make_client(config={"type": 1, "catalogue_cache_seconds": 0})
    assert client.prices(country=12) == [PriceEntry(country=12, service="101", cost=Decimal("80"), count=1)]
    assert fake.actions() == ["getServices"]
    assert [e.country for e in client.prices(service="101")] == [61, 12]
    assert client.prices(country=61, service="999") == []
    assert fake.actions().count("getServices") == 4
    fake.set_offer(1, 12, "101", "Telegram", "81", 1)
    assert client.prices(country=12)[0].cost == Decimal("81")


@pytest.mark.parametrize(
    ("label", "name", "price"),
    [
        ("Telegram - 60 PKR", "Telegram", Decimal("60")),
        ("WhatsApp - 60.00 PKR", "WhatsApp", Decimal("60.00")),
        ("Google - Gmail - YouTube - 12.5 PKR", "Google - Gmail - YouTube", Decimal("12.5")),
        ("Tinder -  1,200.50 PKR ", "Tinder", Decimal("1200.50")),
        ("Any other - 7PKR", "Any other", Decimal("7")),
        ("\\u0412\\u041a\\u043e\\u043d\\u0442\\u0430\\u043a\\u0442\\u0435 - 0 PKR", "ВКонтакте", Decimal("0")),
        ("Match-3 - 15 PKR", "Match-3", Decimal("15")),
    ],
)
def test_odd_service_labels(fake, make_client, label, name, price):
    client = make_client(config={"type": 1, "catalogue_cache_seconds": 0})
    fake.next_response("getServices", f'{{"7":"{label}"}}')
    fake.next_response("getServices", f'{{"7":"{label}"}}')
    fake.next_response("getCountries", '{"1":[{"id":"61","name":"Pakistan"}]}')
    assert client.prices(country=61) == [PriceEntry(country=61, service="7", cost=price, count=1)]
    assert client.services() == [ServiceEntry(code="7", name=name)]


@pytest.mark.parametrize(
    "body",
    [
        *GARBAGE[:6],
        '{"101":"Telegram 60 PKR"}',
        '{"101":"Telegram - 60 USD"}',
        '{"101":"Telegram - -5 PKR"}',
        '{"101":"Telegram - 60"}',
        '{"101":" - 60 PKR"}',
        '{"101":"Telegram - 1,20 PKR"}',
        '{"101":"Telegram - 6e1 PKR"}',
        '{"tg":"Telegram - 60 PKR"}',
        '{"101":60}',
        '{"101":{"name":"Telegram","price":60}}',
        '["Telegram - 60 PKR"]',
    ],
)
def test_services_garbage_is_bad_response(fake, client, body):
    fake.next_response("getServices", body)
    with pytest.raises(BadResponse) as caught:
        client.prices(country=61)
    assert caught.value.raw == body


@pytest.mark.parametrize("body", ["[]", "{}", "NO_NUMBERS"])
def test_a_country_without_services(fake, client, body):
    fake.next_response("getServices", body)
    assert client.prices(country=61) == []


def test_balance(fake, client):
    assert client.balance() == Decimal("500.00") and fake.calls[0][1]["type"] == "1"
    fake.next_response("getBalance", "ACCESS_BALANCE:1,234.5")
    assert client.balance() == Decimal("1234.5")


@pytest.mark.parametrize(
    "body", [*GARBAGE, "ACCESS_BALANCE", "ACCESS_BALANCE:", "ACCESS_BALANCE:abc", "ACCESS_BALANCE:NaN", "BALANCE:5"]
)
def test_balance_garbage_is_bad_response(fake, client, body):
    fake.next_response("getBalance", body)
    with pytest.raises(BadResponse) as caught:
        client.balance()
    assert caught.value.raw == body


def test_catalogue_replies_are_reused_for_catalogue_cache_seconds(fake, make_client):
    client = make_client(config={"type": 1, "catalogue_cache_seconds": 0.2})
    client.countries()
    client.prices(country=61)
    client.countries()
    client.prices(country=61)
    assert fake.actions() == ["getCountries", "getServices"]
    time.sleep(0.25)
    client.countries()
    client.prices(country=61)
    assert fake.actions() == ["getCountries", "getServices"] * 2


def test_a_service_named_differently_per_country_keeps_its_first_name(fake, client):
    fake.next_response("getServices", '{"101":"Telegram - 50 PKR","102":"WhatsApp - 60 PKR"}')
    fake.next_response("getServices", '{"101":"Telegram X - 80 PKR"}')
    assert client.services() == [ServiceEntry(code="101", name="Telegram"), ServiceEntry(code="102", name="WhatsApp")]
    assert [p.cost for p in client.prices(service="101")] == [Decimal("50"), Decimal("80")]
