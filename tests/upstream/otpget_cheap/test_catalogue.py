"""OtpGetCheapClient's catalogue (getServers, getServices labels, the code scheme), balance, and catalogue_sync
into Offer rows through the mapping tables."""

from decimal import Decimal

import pytest

from tests.upstream.otpget_cheap.conftest import GARBAGE, KEY, TELEGRAM
from upstream.models import Country, CountryMapping, Offer, Service, ServiceMapping
from upstream.providers.base import BadResponse, CountryEntry, PriceEntry, ProviderUnavailable, ServiceEntry
from upstream.providers.otpget_cheap import CheapOffer
from upstream.selectors import upstream_codes
from upstream.services import catalogue_seed, catalogue_sync

pytestmark = pytest.mark.django_db

CODES = [
    ServiceEntry(code="1", name="Random Facebook - Free / Facebook"),
    ServiceEntry(code="2:1", name="Pakistan - Server 2 / Telegram"),
    ServiceEntry(code="2:2", name="Pakistan - Server 2 / WhatsApp"),
    ServiceEntry(code="2:3", name="Pakistan - Server 2 / Instagram"),
]


def test_the_fake_encodes_labels_as_php_does(fake):
    """`json_encode` escapes the dash and the rupee sign: what a real cheap_handler.php sends."""
    from tests.fakes.otpget_cheap_state import FakeOtpGetCheapState

    _, body = fake.state.handle({"api_key": KEY, "action": "getServices", "server": "1", "type": "1"})
    assert body == '{"1":"Facebook \\u2014 \\u20a815.00"}'
    _, servers = FakeOtpGetCheapState(api_key="k").handle({"api_key": "k", "action": "getServers", "type": "1"})
    assert servers == "NO_SERVERS"
    _, servers = fake.state.handle({"api_key": KEY, "action": "getServers", "type": "1"})
    assert servers == '{"1":[{"id":"1","name":"Random Facebook - Free"},{"id":"2","name":"Pakistan - Server 2"}]}'


def test_services_and_prices_follow_the_code_scheme(fake, client):
    assert client.services() == CODES
    assert client.prices() == [
        PriceEntry(country=0, service="1", cost=Decimal("15.00"), count=1),
        PriceEntry(country=0, service="2:1", cost=Decimal("50.00"), count=1),
        PriceEntry(country=0, service="2:2", cost=Decimal("60.00"), count=1),
        PriceEntry(country=0, service="2:3", cost=Decimal("1200.00"), count=1),
    ]
    assert all(isinstance(entry.cost, Decimal) for entry in client.prices())
    assert fake.calls == [
        ("getServers", {"api_key": KEY, "action": "getServers", "type": "1"}),
        ("getServices", {"api_key": KEY, "action": "getServices", "server": "1", "type": "1"}),
        ("getServices", {"api_key": KEY, "action": "getServices", "server": "2", "type": "1"}),
    ]  # a catalogue pass reads each reply once (catalogue_cache_seconds)
    assert client.countries() == [CountryEntry(id=0, name="Russia")]
    assert len(fake.calls) == 3  # countries need no call: they are the config's


def test_country_comes_from_the_config(fake, make_client):
    client = make_client(config={"type": 1, "country": "66"})
    assert client.countries() == [CountryEntry(id=66, name="Pakistan")]
    assert client.prices(country=0) == [] and fake.calls == []
    assert [entry.country for entry in client.prices(country=66)] == [66] * 4
    assert client.prices(service="2:1") == [PriceEntry(country=66, service="2:1", cost=Decimal("50.00"), count=1)]
    assert make_client(slot=2, config={"country": 9999}).countries() == [CountryEntry(9999, "country 9999")]
    fake.clear_calls()
    for bad in ["x", -1, True, 1.5, [66], "1234567"]:
        client.provider.config = {"type": 1, "country": bad}
        with pytest.raises(ProviderUnavailable, match="config country must be a number"):
            client.countries()
        with pytest.raises(ProviderUnavailable):
            client.prices()
    assert fake.calls == []


def test_type_2_lists_its_own_servers(fake, make_client):
    client = make_client(config={"type": 2})
    assert client.services() == [ServiceEntry(code="7", name="Type two / Google")]
    assert client.prices()[0].cost == Decimal("30.00")


def test_no_cache_when_disabled(fake, make_client):
    client = make_client(config={"type": 1, "catalogue_cache_seconds": 0})
    client.services()
    client.prices()
    assert fake.actions().count("getServers") == 2
    fake.set_service("2", "1", "Telegram", "55.00")
    assert client.prices(service="2:1")[0].cost == Decimal("55.00")


def test_a_server_growing_a_second_service_changes_its_codes(fake, make_client):
    client = make_client(config={"type": 1, "catalogue_cache_seconds": 0})
    assert client.services()[0].code == "1"
    fake.set_service("1", "5", "Facebook Lite", "9.00")
    assert [entry.code for entry in client.services()][:2] == ["1:1", "1:5"]


@pytest.mark.parametrize("reply", ["NO_SERVERS", "[]", '{"2":[{"id":"7","name":"Type two"}]}', '{"1":[]}'])
def test_no_servers_is_an_empty_catalogue(fake, client, reply):
    fake.next_response("getServers", reply)
    assert client.services() == [] and client.prices() == []
    assert fake.actions() == ["getServers"]


def test_servers_as_an_object_and_repeated_ids(fake, client):
    fake.next_response("getServers", '{"1":{"0":{"id":"2","name":" Pakistan - Server 2 "},"1":{"id":2,"name":"x"}}}')
    assert [entry.code for entry in client.services()] == ["2:1", "2:2", "2:3"]
    assert client.services()[0].name == "Pakistan - Server 2 / Telegram"


@pytest.mark.parametrize("reply", ["NO_SERVICES", "BAD_SERVER", "[]"])
def test_a_server_that_sells_nothing_now_is_skipped(fake, client, reply):
    fake.next_response("getServices", reply)
    assert client.services() == CODES[1:]


@pytest.mark.parametrize(
    "body",
    [
        *GARBAGE[:6],
        '{"1":"Random Facebook"}',
        '{"x":[]}',
        '{"1":[{"id":"1:2","name":"colon"}]}',
        '{"1":[{"id":"1"}]}',
        '{"1":[{"id":"1","name":""}]}',
        '{"1":[{"id":true,"name":"x"}]}',
        '{"1":[["1","x"]]}',
        '"1"',
    ],
)
def test_servers_garbage_is_bad_response(fake, client, body):
    fake.next_response("getServers", body)
    with pytest.raises(BadResponse) as caught:
        client.services()
    assert caught.value.raw == body


@pytest.mark.parametrize(
    ("label", "name", "price"),
    [
        ("Facebook \\u2014 \\u20a815.00", "Facebook", Decimal("15.00")),
        ("Facebook — ₨15.00", "Facebook", Decimal("15.00")),  # unescaped UTF-8 reads the same
        ("Pakistan Server 2 \\u2014 \\u20a81,200.50", "Pakistan Server 2", Decimal("1200.50")),
        ("A \\u2014 B \\u2014 \\u20a80.00", "A — B", Decimal("0.00")),
        ("Random Facebook - Free - \\u20a85", "Random Facebook - Free", Decimal("5")),
        (
            "\\u0412\\u041a\\u043e\\u043d\\u0442\\u0430\\u043a\\u0442\\u0435 \\u2014 \\u20a8 7.25",
            "ВКонтакте",
            Decimal("7.25"),
        ),
    ],
)
def test_odd_service_labels(fake, make_client, label, name, price):
    client = make_client(config={"type": 1, "catalogue_cache_seconds": 0})
    fake.next_response("getServers", '{"1":[{"id":"4","name":"S"}]}')
    fake.next_response("getServices", f'{{"9":"{label}"}}')
    assert client.offers() == [CheapOffer(code="4", name=f"S / {name}", price=price)]


@pytest.mark.parametrize(
    "body",
    [
        *GARBAGE[:6],
        '{"1":"Facebook \\u2014 15.00"}',
        '{"1":"Facebook \\u20a815.00"}',
        '{"1":"Facebook \\u2014 \\u20a8-5.00"}',
        '{"1":"Facebook \\u2014 \\u20a81,20"}',
        '{"1":"Facebook \\u2014 \\u20a81e3"}',
        '{"1":"Facebook \\u2014 $15.00"}',
        '{"1":"Facebook - 15 PKR"}',
        '{"1":" \\u2014 \\u20a815.00"}',
        '{"1:2":"Facebook \\u2014 \\u20a815.00"}',
        '{"1":15}',
        '{"1":{"name":"Facebook","price":15}}',
        '["Facebook \\u2014 \\u20a815.00"]',
    ],
)
def test_services_garbage_is_bad_response(fake, client, body):
    fake.next_response("getServices", body)
    with pytest.raises(BadResponse) as caught:
        client.services()
    assert caught.value.raw == body


# --- balance ----------------------------------------------------------------------------------------


def test_balance(fake, client):
    assert client.balance() == Decimal("500.00")
    assert fake.calls == [("getBalance", {"api_key": KEY, "action": "getBalance", "type": "1"})]
    fake.next_response("getBalance", "ACCESS_BALANCE:1,234.50")
    assert client.balance() == Decimal("1234.50")
    fake.next_response("getBalance", "ACCESS_BALANCE:-3.00")
    assert client.balance() == Decimal("-3.00")


@pytest.mark.parametrize("body", [*GARBAGE, "ACCESS_BALANCE", "ACCESS_BALANCE:", "ACCESS_BALANCE:abc", "BALANCE:5"])
def test_balance_garbage_is_bad_response(fake, client, body):
    fake.next_response("getBalance", body)
    with pytest.raises(BadResponse) as caught:
        client.balance()
    assert caught.value.raw == body


# --- catalogue_sync ---------------------------------------------------------------------------------


def test_catalogue_sync_fills_the_mapping_tables_and_offers_once_mapped(fake, make_client):
    catalogue_seed()
    client = make_client(slot=4, config={"type": 1, "country": 66})
    provider = client.provider
    first = catalogue_sync(provider=provider)
    # every code is a row for the admin, never matched by name; the country is ours by name
    rows = dict(ServiceMapping.objects.filter(provider=provider).values_list("upstream_code", "upstream_name"))
    assert rows == {entry.code: entry.name for entry in CODES}
    assert not ServiceMapping.objects.filter(provider=provider, service__isnull=False).exists()
    assert CountryMapping.objects.get(provider=provider, upstream_code="66").country_id == 66
    assert first.entries_skipped == 4 and first.offers_created == 0 and first.balance == Decimal("500.0000")
    assert not Service.objects.filter(code__in=["1", "2:1"]).exists()

    telegram, facebook = Service.objects.get(code="tg"), Service.objects.get(code="fb")
    ServiceMapping.objects.filter(provider=provider, upstream_code="2:1").update(service=telegram)
    ServiceMapping.objects.filter(provider=provider, upstream_code="1").update(service=facebook)
    second = catalogue_sync(provider=provider)
    assert (second.offers_created, second.entries_skipped) == (2, 2)
    offers = {o.service.code: (o.country_id, o.cost, o.stock) for o in Offer.objects.filter(provider=provider)}
    assert offers == {"tg": (66, Decimal("50.0000"), 1), "fb": (66, Decimal("15.0000"), 1)}

    # a purchase sends the mapped codes: the server and service of our tg
    codes = upstream_codes(provider_ids=[provider.pk], service_id=telegram.pk, country_ids=[66])
    assert codes == {(provider.pk, 66): ("2:1", "66")}
    fake.clear_calls()
    client.buy(TELEGRAM)
    assert fake.calls[0][1]["server"] == "2" and fake.calls[0][1]["service"] == "1"

    # the server stops selling: its offers go out of stock at the next sync
    fake.next_response("getServers", '{"1":[{"id":"1","name":"Random Facebook - Free"}]}')
    third = catalogue_sync(provider=provider)
    assert third.offers_zeroed == 1 and Offer.objects.get(provider=provider, service=telegram).stock == 0


def test_catalogue_sync_without_the_country_row_skips_everything(fake, make_client):
    Service.objects.create(code="tg", name="Telegram")
    client = make_client(config={"type": 1, "country": 66})
    catalogue_sync(provider=client.provider)
    assert CountryMapping.objects.get(provider=client.provider, upstream_code="66").country is None
    Country.objects.create(id=66, name="Pakistan")
    CountryMapping.objects.filter(provider=client.provider).update(country_id=66)
    ServiceMapping.objects.filter(provider=client.provider, upstream_code="2:1").update(
        service=Service.objects.get(code="tg")
    )
    assert catalogue_sync(provider=client.provider).offers_created == 1
