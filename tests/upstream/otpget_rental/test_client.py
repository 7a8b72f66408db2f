"""OtpGetRentalClient against the fake rental-handler.php over real HTTP: every action, the decided reply
shapes, the error table, durations per server, prolong by the getMyRentals id, garbage and timeouts."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from tests.fakes.otpget_rental_state import error
from tests.upstream.otpget_rental.conftest import KEY
from upstream.models import Provider
from upstream.providers.base import (
    FULL_RENT,
    BadResponse,
    CountryEntry,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    RentEnded,
    RentPrice,
    RentRequest,
    RentSetStatus,
    RentState,
    SetStatus,
    UnknownActivation,
    Unsupported,
    client_for,
)
from upstream.providers.otpget_rental import OtpGetRentalClient, config_check
from upstream.providers.otpget_rental_wire import MESSAGES, SHAPES

pytestmark = pytest.mark.django_db

PK_DAY = RentRequest(country=66, service=FULL_RENT, hours=24)
CA_MONTH = RentRequest(country=36, service=FULL_RENT, hours=720)


def keys(body: str) -> list:
    """The key order of a reply and of its first list entry."""
    reply = json.loads(body)
    lists = [value for value in reply.values() if isinstance(value, list) and value]
    return list(reply) + (list(lists[0][0]) if lists else [])


# --- the decided shapes ------------------------------------------------------------------------------


def test_the_fake_answers_exactly_the_decided_shapes(fake):
    def ask(action: str, **params: str) -> str:
        return fake.state.handle({"api_key": KEY, "action": action, **params})[1]

    where = {"country_code": "ca", "provider": "2"}
    bodies = {
        "getRentalCountries": ask("getRentalCountries", provider="2"),
        "getRentalPricing": ask("getRentalPricing", **where),
        "getAvailableRentals": ask("getAvailableRentals", **where),
        "rentNumber": ask("rentNumber", **where, duration_hours="720"),
    }
    order = json.loads(bodies["rentNumber"])["order_id"]
    fake.deliver_sms(order, "Your WhatsApp code 740-279")
    bodies["getMyRentals"] = ask("getMyRentals")
    bodies["getRentalSMS"] = ask("getRentalSMS", order_id=order)
    bodies["renewRental"] = ask("renewRental", rental_id=json.loads(bodies["getMyRentals"])["rentals"][0]["id"],
                                duration_hours="720")  # fmt: skip
    bodies["error"] = ask("getRentalSMS", order_id="1")
    for action, shape in SHAPES.items():
        assert keys(bodies[action]) == keys(shape), action
        assert json.loads(bodies[action])["status"] == json.loads(shape)["status"], action
    assert {type(v) for v in json.loads(bodies["rentNumber"]).values()} == {str, int}


def test_the_documents_samples_read_as_decided(fake, server2):
    fake.next_response("rentNumber", SHAPES["rentNumber"])
    rented = server2.rent(CA_MONTH)
    assert (rented.upstream_id, rented.phone, rented.cost) == ("2673093356180000583", "3434337545", Decimal("840.00"))
    assert rented.ends_at == datetime(2026, 4, 9, 16, 55, 55, tzinfo=UTC)  # 21:55:55 Pakistan time
    fake.next_response("getMyRentals", SHAPES["getMyRentals"])
    fake.next_response("getRentalSMS", SHAPES["getRentalSMS"])
    status = server2.rent_status("2673093356180000583")
    assert status.state == RentState.ACTIVE and status.ends_at == rented.ends_at
    [sms] = status.sms
    assert (sms.sms_id, sms.sender, sms.text, sms.code) == ("1", "Server 2", "Your WhatsApp code 740-279", None)
    assert sms.received_at == datetime(2026, 3, 9, 20, 57, 32, tzinfo=UTC)
    fake.next_response("getMyRentals", SHAPES["getMyRentals"])
    fake.next_response("renewRental", SHAPES["renewRental"])
    longer = server2.rent_prolong("2673093356180000583", 720)
    assert fake.calls[-1][1]["rental_id"] == "27"
    assert (longer.ends_at, longer.cost) == (datetime(2026, 5, 9, 16, 55, 55, tzinfo=UTC), Decimal("840.00"))


# --- catalogue ---------------------------------------------------------------------------------------


def test_rent_prices_of_server_1(fake, client):
    prices = client.rent_prices()
    assert [(a, p.get("provider")) for a, p in fake.calls][:1] == [("getRentalCountries", "1")]
    pakistan = sorted((p.hours, p.cost, p.count) for p in prices if p.country == 66)
    assert pakistan == [
        (12, Decimal("100.00"), 7),
        (24, Decimal("180.00"), 7),
        (168, Decimal("900.00"), 7),
        (720, Decimal("3000.00"), 7),
    ]
    assert RentPrice(country=16, service=FULL_RENT, hours=24, cost=Decimal("400.00"), count=10) in prices
    assert {p.service for p in prices} == {FULL_RENT}


def test_rent_prices_of_server_2_skip_unmapped_codes_and_config_maps_them(fake, server2, make_client):
    assert {(p.country, p.hours) for p in server2.rent_prices()} == {(36, 720), (36, 4320), (187, 720)}
    mapped = make_client(slot=3, provider=2, country_map={"xx": 999, "CA": 1036})
    assert {p.country for p in mapped.rent_prices()} == {1036, 187, 999}


def test_countries_are_the_rental_countries_and_there_are_no_activations(fake, server2):
    assert server2.countries() == [CountryEntry(36, "Canada"), CountryEntry(187, "United States of America")]
    assert server2.services() == [] and server2.prices() == []
    assert server2.supports_rent is True and server2.supports_active_list is False


def test_no_activations_and_no_balance(fake, client):
    for call in (
        lambda: client.buy(None),
        lambda: client.status("1"),
        lambda: client.set_status("1", SetStatus.CANCEL),
    ):
        with pytest.raises(Unsupported):
            call()
    with pytest.raises(Unsupported):
        client.balance()
    assert fake.calls == []


# --- renting -----------------------------------------------------------------------------------------


def test_rent_sends_the_code_provider_and_hours(fake, client):
    rented = client.rent(PK_DAY)
    params = fake.calls[-1][1]
    assert (params["action"], params["country_code"], params["provider"], params["duration_hours"]) == (
        "rentNumber", "pk", "1", "24",
    )  # fmt: skip
    assert abs(rented.ends_at - datetime.now(UTC) - timedelta(hours=24)) < timedelta(seconds=5)
    assert (rented.cost, fake.balance) == (Decimal("180.00"), Decimal("4880"))
    assert [r.order_id for r in fake.rentals] == [rented.upstream_id]
    assert fake.requests[-1][0] == "GET"


@pytest.mark.parametrize("hours", [12, 24, 168, 720])
def test_server_1_rents_every_tier(fake, client, hours):
    assert client.rent(RentRequest(country=66, service=FULL_RENT, hours=hours)).phone.isdigit()


@pytest.mark.parametrize("server,hours", [(1, 48), (1, 0), (2, 12), (2, 24), (2, 168), (2, 8641)])
def test_durations_a_server_does_not_take_are_refused_before_sending(fake, make_client, server, hours):
    client = make_client(provider=server)
    with pytest.raises(ProviderError) as caught:
        client.rent(RentRequest(country=36, service=FULL_RENT, hours=hours))
    assert caught.value.raw == f"BAD_RENT_PERIOD:{hours}" and fake.calls == []


def test_a_service_or_an_unmapped_country_is_refused_before_sending(fake, client):
    with pytest.raises(ProviderError) as service:
        client.rent(RentRequest(country=66, service="wa", hours=24))
    with pytest.raises(ProviderError) as country:
        client.rent(RentRequest(country=12, service=FULL_RENT, hours=24))
    assert (service.value.raw, country.value.raw) == ("FULL_RENT_ONLY", "UNMAPPED_COUNTRY:12")
    assert fake.calls == []


def test_the_fakes_rent_errors(fake, client, server2):
    with pytest.raises(NoNumbers):  # 404: no such tier (the UK has 24 h only)
        client.rent(RentRequest(country=16, service=FULL_RENT, hours=720))
    with pytest.raises(NoNumbers):  # 404: server 1 does not rent Canada
        client.rent(RentRequest(country=36, service=FULL_RENT, hours=24))
    fake.balance = "10"
    with pytest.raises(ProviderNoBalance):
        client.rent(PK_DAY)
    fake.state.disabled.add(2)
    with pytest.raises(ProviderError, match="503"):
        server2.rent(CA_MONTH)


def test_no_stock_is_a_server_error(fake, make_client):
    fake.add_country(1, "in", "India", {24: "50"}, {"in": ("India", 0)})
    with pytest.raises(ProviderError, match="502"):
        make_client().rent(RentRequest(country=22, service=FULL_RENT, hours=24))


@pytest.mark.parametrize(
    "status,message,exception",
    [
        ("401", MESSAGES["bad_key"], ProviderBadKey),
        ("403", MESSAGES["blocked"], ProviderBadKey),
        ("400", "Unknown action: rentNumber", ProviderError),
        ("400", "duration_hours is required.", ProviderError),
        ("400", MESSAGES["server2_monthly"], ProviderError),
        ("402", MESSAGES["no_balance"], ProviderNoBalance),
        ("404", MESSAGES["no_pricing"], NoNumbers),
        ("503", "Server 1 is currently unavailable.", ProviderError),
        ("502", "Server 1 error: upstream down", ProviderError),
        ("500", "Database error: deadlock", ProviderError),
    ],
)
def test_every_documented_error_of_rent_number(fake, client, status, message, exception):
    fake.next_response("rentNumber", error(status, message))
    with pytest.raises(exception) as caught:
        client.rent(PK_DAY)
    assert type(caught.value) is exception and json.loads(caught.value.raw)["message"] == message


def test_a_wrong_key_and_a_blocked_account(fake, make_client):
    with pytest.raises(ProviderBadKey):
        make_client(key="wrong").rent_prices()
    fake.state.blocked = True
    with pytest.raises(ProviderBadKey):
        make_client(slot=2).rent(PK_DAY)


# --- status ------------------------------------------------------------------------------------------


def test_status_lists_every_sms_with_ids_and_codes(fake, client):
    rented = client.rent(PK_DAY)
    assert client.rent_status(rented.upstream_id).sms == ()
    fake.deliver_sms(rented.upstream_id, "code 111")
    fake.deliver_sms(rented.upstream_id, "Your code 222", code="222")
    status = client.rent_status(rented.upstream_id)
    assert [(s.sms_id, s.text, s.code, s.sender) for s in status.sms] == [
        ("1", "code 111", None, "Server 1"),
        ("2", "Your code 222", "222", "Server 1"),
    ]
    assert [a for a, _ in fake.calls[-2:]] == ["getMyRentals", "getRentalSMS"]


def test_sms_without_ids_get_stable_distinct_digests(fake, client):
    same = {"from": "Server 1", "text": "code 1", "code": "", "timestamp": "2026-03-09T20:57:32Z"}
    body = json.dumps({"status": "200", "messages": [same, same]})
    order = client.rent(PK_DAY).upstream_id
    ids = []
    for _ in range(2):
        fake.next_response("getRentalSMS", body)
        ids.append([s.sms_id for s in client.rent_status(order).sms])
    assert ids[0] == ids[1] and len(set(ids[0])) == 2


def test_expired_cancelled_and_unknown(fake, client):
    expired, cancelled = client.rent(PK_DAY).upstream_id, client.rent(PK_DAY).upstream_id
    fake.deliver_sms(expired, "code 1")
    fake.cancel(cancelled)
    fake.advance(24 * 3600 + 1)
    assert client.rent_status(expired).state == RentState.FINISHED
    assert [s.text for s in client.rent_status(expired).sms] == ["code 1"]
    assert client.rent_status(cancelled).state == RentState.CANCELLED
    with pytest.raises(UnknownActivation):
        client.rent_status("1")


def test_an_ended_rental_without_an_sms_list_keeps_its_state(fake, client):
    ended = client.rent(PK_DAY).upstream_id
    fake.advance(25 * 3600)
    fake.next_response("getRentalSMS", error("404", MESSAGES["not_found"]))
    assert client.rent_status(ended).state == RentState.FINISHED
    active = client.rent(PK_DAY).upstream_id
    fake.next_response("getRentalSMS", error("404", MESSAGES["not_found"]))
    with pytest.raises(UnknownActivation):  # while active, the failure counts
        client.rent_status(active)


def test_set_status_is_unsupported_and_sends_nothing(fake, client):
    for status in RentSetStatus:
        with pytest.raises(Unsupported):
            client.rent_set_status("1", status)
    assert fake.calls == []


# --- prolong -----------------------------------------------------------------------------------------


def test_prolong_looks_up_the_rental_id_and_extends(fake, server2):
    fake.balance = "10000"
    rented = server2.rent(CA_MONTH)
    longer = server2.rent_prolong(rented.upstream_id, 4320)
    assert [a for a, _ in fake.calls[-2:]] == ["getMyRentals", "renewRental"]
    assert fake.calls[-1][1]["rental_id"] == str(fake.rentals[0].id)
    assert abs(longer.ends_at - rented.ends_at - timedelta(hours=4320)) < timedelta(seconds=2)
    assert (longer.upstream_id, longer.phone, longer.cost) == (rented.upstream_id, rented.phone, Decimal("5040.00"))
    assert fake.balance == Decimal("4120.00")


def test_prolong_errors(fake, client, server2):
    order = client.rent(PK_DAY).upstream_id
    with pytest.raises(UnknownActivation):
        client.rent_prolong("1", 24)
    with pytest.raises(ProviderError) as bad:
        server2.rent_prolong(order, 24)  # server 2 durations, checked before anything is sent
    assert bad.value.raw == "BAD_RENT_PERIOD:24"
    fake.balance = "1"
    with pytest.raises(ProviderNoBalance):
        client.rent_prolong(order, 24)
    fake.advance(24 * 3600 + 1)
    calls = len(fake.calls)
    with pytest.raises(RentEnded):  # listed as expired: nothing renewed
        client.rent_prolong(order, 24)
    assert [a for a, _ in fake.calls[calls:]] == ["getMyRentals"]


def test_renewal_refused_as_not_active_or_not_found(fake, client):
    order = client.rent(PK_DAY).upstream_id
    fake.next_response("renewRental", error("400", MESSAGES["not_active"]))
    with pytest.raises(RentEnded):
        client.rent_prolong(order, 24)
    fake.next_response("renewRental", error("404", MESSAGES["not_found"]))
    with pytest.raises(UnknownActivation):
        client.rent_prolong(order, 24)


# --- garbage, transport, config ----------------------------------------------------------------------

CALLS = {
    "getRentalCountries": lambda c: c.rent_prices(),
    "rentNumber": lambda c: c.rent(PK_DAY),
    "getMyRentals": lambda c: c.rent_status("2673093356180000583"),
    "renewRental": lambda c: c.rent_prolong("2673093356180000583", 24),
}
GARBAGE = [
    "<html>502</html>",
    "",
    "not json",
    '{"status":200,"countries":[]}',  # a number, not the string "200"
    '{"message":"ok"}',
    '["200"]',
    '{"status":"200","countries":{"a":1},"rentals":"none"}',
]


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_is_bad_response(fake, client, action, body):
    if action == "renewRental":
        fake.next_response("getMyRentals", SHAPES["getMyRentals"])
    fake.next_response(action, body)
    with pytest.raises(BadResponse):
        CALLS[action](client)


@pytest.mark.parametrize(
    "action,reply",
    [
        ("getRentalPricing", {"pricing": [{"duration_hours": "a day", "price": "1"}]}),
        ("getAvailableRentals", {"available": [{"available": "many"}]}),
        ("rentNumber", {"phone": "call me", "order_id": "1", "expires": "2026-04-09 21:55:55"}),
        ("rentNumber", {"phone": "3434337545", "order_id": "1", "expires": "next month"}),
        ("getMyRentals", {"rentals": [{"order_id": "5", "status": "paused", "expiry_time": "2026-04-09 21:55:55"}]}),
        ("getRentalSMS", {"messages": [{"text": "x", "timestamp": "yesterday"}]}),
    ],
)
def test_wrong_shapes_are_bad_response(fake, client, action, reply):
    fake.next_response(action, json.dumps({"status": "200", **reply}))
    call = {
        "getRentalPricing": lambda: client.rent_prices(),
        "getAvailableRentals": lambda: client.rent_prices(),
        "rentNumber": lambda: client.rent(PK_DAY),
        "getMyRentals": lambda: client.rent_status("5"),
        "getRentalSMS": lambda: client.rent_status(client.rent(PK_DAY).upstream_id),
    }[action]
    with pytest.raises(BadResponse):
        call()


def test_timeouts_and_dropped_connections(fake, make_client):
    client = make_client(timeout_seconds=0.3)
    order = client.rent(PK_DAY).upstream_id
    fake.delay(0.8, "rentNumber")
    with pytest.raises(ProviderTimeout):
        client.rent(PK_DAY)
    fake.delay(0)
    fake.next_disconnect("renewRental")
    with pytest.raises(ProviderTimeout):
        client.rent_prolong(order, 24)


@pytest.mark.parametrize(
    "config",
    [
        {"provider": 3},
        {"provider": "two"},
        {"country_map": []},
        {"country_map": {"ca": "x"}},
        {"utc_offset_hours": "5"},
    ],
)
def test_a_bad_config_is_refused_before_sending(fake, make_client, config):
    with pytest.raises(ProviderUnavailable):
        config_check(config)
    with pytest.raises(ProviderUnavailable):
        make_client(**config).rent(PK_DAY)
    assert fake.calls == []


def test_utc_offset_is_configurable(fake, make_client):
    fake.next_response("rentNumber", SHAPES["rentNumber"])
    assert make_client(utc_offset_hours=0).rent(PK_DAY).ends_at == datetime(2026, 4, 9, 21, 55, 55, tzinfo=UTC)


def test_provider_add_and_client_for(fake):
    out = StringIO()
    call_command(
        "provider_add", "--slot", "5", "--protocol", "otpget-rental", "--url", fake.url, "--api-key", KEY,
        "--config", '{"provider": 2}', stdout=out,
    )  # fmt: skip
    provider = Provider.objects.get(slot=5)
    assert provider.protocol == "otpget-rental" and "otpget-rental" in out.getvalue()
    client = client_for(provider)
    assert isinstance(client, OtpGetRentalClient) and client.server == 2
    assert ("otpget-rental", "OTPGet-compatible rentals (rental-handler.php)") in Provider.Protocol.choices


@pytest.mark.parametrize("config", ['{"provider": 3}', '{"utc_offset_hours": "x"}', '{"country_map": [1]}'])
def test_provider_add_refuses_a_config_the_client_would_refuse(fake, config):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command(
            "provider_add", "--slot", "5", "--protocol", "otpget-rental", "--url", fake.url, "--api-key", KEY,
            "--config", config, stdout=StringIO(),
        )  # fmt: skip
    assert not Provider.objects.filter(slot=5).exists()
