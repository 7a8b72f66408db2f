"""Rentals at the sandbox upstream: catalogue, renting, SMS now and then, finish/cancel, prolong, failures."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from upstream.models import Provider, SandboxRental
from upstream.providers import client_for
from upstream.providers.base import (
    FULL_RENT,
    MaxPriceRefused,
    NoNumbers,
    ProviderError,
    ProviderTimeout,
    RentCannotCancel,
    RentEnded,
    RentRequest,
    RentSetStatus,
    RentState,
    UnknownActivation,
)
from upstream.providers.sandbox import SandboxClient
from upstream.services import InvalidProvider, provider_add

pytestmark = pytest.mark.django_db

TG_24 = RentRequest(country=22, service="tg", hours=24)


@pytest.fixture
def sandbox():
    def make(slot: int = 1, rate: str = "1", **config) -> SandboxClient:
        provider = Provider.objects.create(slot=slot, protocol="sandbox", rate_to_pkr=Decimal(rate), config=config)
        client = client_for(provider)
        assert isinstance(client, SandboxClient) and client.supports_rent
        return client

    return make


def age(upstream_id: str, seconds: float) -> None:
    """Move a rental into the past instead of sleeping."""
    row = SandboxRental.objects.get(pk=int(upstream_id))
    delta = timedelta(seconds=seconds)
    row.started_at -= delta
    row.ends_at -= delta
    row.ended_at = row.ended_at - delta if row.ended_at else None
    row.save()


def test_rent_prices_cover_countries_services_and_periods(sandbox):
    prices = sandbox(rate="2").rent_prices()
    assert {p.country for p in prices} == {0, 22, 66, 187}
    assert {p.service for p in prices} == {FULL_RENT, "tg", "wa"}
    assert {p.hours for p in prices} == {12, 24, 168, 720, 4320, 8640}
    by_key = {(p.country, p.service, p.hours): p for p in prices}
    assert by_key[(66, "tg", 24)].cost == Decimal("75.00")  # 150 PKR a day at 2 PKR per unit
    assert by_key[(66, FULL_RENT, 168)].cost == Decimal("1250.00")
    assert by_key[(187, "wa", 24)].count == 0 and by_key[(66, "tg", 24)].count > 0
    assert prices == sandbox(slot=2, rate="2").rent_prices()  # deterministic


def test_rent_gives_a_number_for_the_period(sandbox):
    client = sandbox()
    before = timezone.now()
    rented = client.rent(TG_24)
    assert rented.phone.startswith("91") and rented.phone.isdigit()
    assert before + timedelta(hours=24) <= rented.ends_at <= timezone.now() + timedelta(hours=24)
    assert rented.cost == Decimal("120.00")  # 150 x India's 0.8
    full = client.rent(RentRequest(country=0, service=FULL_RENT, hours=12))
    assert full.phone != rented.phone and SandboxRental.objects.get(pk=full.upstream_id).service == ""


@pytest.mark.parametrize(
    "request_, error, raw",
    [
        (RentRequest(country=22, service="ig", hours=24), ProviderError, "BAD_SERVICE"),
        (RentRequest(country=6, service="tg", hours=24), ProviderError, "BAD_COUNTRY"),
        (RentRequest(country=22, service="tg", hours=5), ProviderError, "INVALID_TIME"),
        (RentRequest(country=187, service="wa", hours=24), NoNumbers, "NO_NUMBERS"),
        (RentRequest(country=22, service="tg", hours=24, max_price=Decimal("100")), MaxPriceRefused, None),
    ],
)
def test_rent_errors(sandbox, request_, error, raw):
    with pytest.raises(error) as caught:
        sandbox().rent(request_)
    assert type(caught.value) is error and (raw is None or caught.value.raw == raw)
    assert not SandboxRental.objects.exists()


def test_sms_arrive_now_and_then_and_every_reader_agrees(sandbox):
    client = sandbox(rent_sms_every_seconds=30)
    rented = client.rent(TG_24)
    status = client.rent_status(rented.upstream_id)
    assert status.state == RentState.ACTIVE and status.sms == ()
    age(rented.upstream_id, 95)
    status = client.rent_status(rented.upstream_id)
    assert [s.sms_id for s in status.sms] == [f"{rented.upstream_id}-{k}" for k in (1, 2, 3)]
    assert all(s.code and s.code in s.text and s.sender == "Telegram" for s in status.sms)
    assert status.sms[0].received_at < status.sms[1].received_at < timezone.now()
    other_process = client_for(Provider.objects.get(pk=client.provider.pk))
    assert other_process.rent_status(rented.upstream_id).sms == status.sms


def test_a_read_shows_the_latest_hundred(sandbox):
    client = sandbox(rent_sms_every_seconds=1)
    rented = client.rent(TG_24)
    age(rented.upstream_id, 150)
    sms = client.rent_status(rented.upstream_id).sms
    assert len(sms) == 100 and sms[-1].sms_id == f"{rented.upstream_id}-150"


def test_expiry_finishes_and_stops_the_sms(sandbox):
    client = sandbox(rent_sms_every_seconds=3600)
    rented = client.rent(RentRequest(country=22, service="tg", hours=12))
    age(rented.upstream_id, 30 * 3600)
    status = client.rent_status(rented.upstream_id)
    assert status.state == RentState.FINISHED and len(status.sms) == 12
    assert [r.upstream_id for r in client.rent_list()] == []


def test_cancel_only_early_and_before_any_sms(sandbox):
    client = sandbox()  # an SMS a minute
    fresh, with_sms = client.rent(TG_24), client.rent(TG_24)
    assert client.rent_set_status(fresh.upstream_id, RentSetStatus.CANCEL) == "success"
    assert client.rent_status(fresh.upstream_id).state == RentState.CANCELLED
    age(with_sms.upstream_id, 61)
    with pytest.raises(RentCannotCancel) as caught:
        client.rent_set_status(with_sms.upstream_id, RentSetStatus.CANCEL)
    assert caught.value.raw == "CANT_CANCEL"
    quiet = sandbox(slot=2, rent_sms_every_seconds=3600)
    old = quiet.rent(TG_24)
    age(old.upstream_id, 21 * 60)
    assert quiet.rent_status(old.upstream_id).sms == ()
    with pytest.raises(RentCannotCancel):  # no SMS yet, but too late
        quiet.rent_set_status(old.upstream_id, RentSetStatus.CANCEL)
    assert quiet.rent_set_status(old.upstream_id, RentSetStatus.FINISH) == "success"
    assert quiet.rent_status(old.upstream_id).state == RentState.FINISHED


def test_ended_rentals_cannot_change_or_prolong(sandbox):
    client = sandbox()
    finished, cancelled = client.rent(TG_24), client.rent(TG_24)
    client.rent_set_status(finished.upstream_id, RentSetStatus.FINISH)
    client.rent_set_status(cancelled.upstream_id, RentSetStatus.CANCEL)
    for rental, raw in ((finished, "ALREADY_FINISH"), (cancelled, "ALREADY_CANCEL")):
        with pytest.raises(RentEnded) as caught:
            client.rent_set_status(rental.upstream_id, RentSetStatus.FINISH)
        assert caught.value.raw == raw
        with pytest.raises(RentEnded):
            client.rent_prolong(rental.upstream_id, 24)
    for bad in ("", "x", "999999"):
        with pytest.raises(UnknownActivation):
            client.rent_status(bad)


def test_prolong_extends_the_same_rental(sandbox):
    client = sandbox()
    rented = client.rent(TG_24)
    assert client.rent_prolong_price(rented.upstream_id, 168) == Decimal("600.00")  # 150 x 0.8 x 5
    assert client.rent_prolong_price(rented.upstream_id, 36) == Decimal("180.00")  # per day outside the table
    longer = client.rent_prolong(rented.upstream_id, 168)
    assert longer.upstream_id == rented.upstream_id and longer.cost == Decimal("600.00")
    assert longer.ends_at == rented.ends_at + timedelta(hours=168)
    row = SandboxRental.objects.get(pk=rented.upstream_id)
    assert (row.hours, row.cost) == (192, Decimal("720.00"))
    with pytest.raises(ProviderError) as caught:
        client.rent_prolong(rented.upstream_id, 0)
    assert caught.value.raw == "INVALID_TIME"


def test_failures_apply_to_rent_calls(sandbox):
    client = sandbox(fail="timeout", fail_actions=["rent"])
    with pytest.raises(ProviderTimeout):
        client.rent(TG_24)
    assert SandboxRental.objects.count() == 1  # it happened; the answer was lost
    broken = sandbox(slot=2, fail="error", fail_actions=["rent_prices", "rent_status"])
    for call in (broken.rent_prices, lambda: broken.rent_status("1")):
        with pytest.raises(ProviderError) as caught:
            call()
        assert caught.value.raw == "ERROR_SQL"


def test_order_ref_is_unique(sandbox):
    client = sandbox()
    client.rent(RentRequest(country=22, service="tg", hours=24, order_ref="r-1"))
    with pytest.raises(ProviderError) as caught:
        client.rent(RentRequest(country=22, service="tg", hours=24, order_ref="r-1"))
    assert caught.value.raw == "ORDER_ALREADY_EXISTS"


@pytest.mark.parametrize("value", [0, -5, "often"])
def test_bad_sms_interval_is_refused(value):
    with pytest.raises(InvalidProvider):
        provider_add(slot=1, protocol="sandbox", url="", api_key="", config={"rent_sms_every_seconds": value})
