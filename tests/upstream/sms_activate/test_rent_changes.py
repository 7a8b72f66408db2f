"""SmsActivateClient's rent API, continued: finish, cancel, prolong, the rent list, who rents."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.upstream.sms_activate.conftest import KEY, TG_24, rented
from upstream.models import Provider
from upstream.providers import client_for
from upstream.providers.base import (
    BadResponse,
    ProviderError,
    ProviderNoBalance,
    RentCannotCancel,
    RentEnded,
    RentSetStatus,
    RentState,
    UnknownActivation,
    Unsupported,
)

pytestmark = pytest.mark.django_db


# --- finish and cancel ----------------------------------------------------------------------------


def test_finish_keeps_the_cost_cancel_refunds(rent_fake, client):
    first, second = rented(client, rent_fake), rented(client, rent_fake)
    balance = rent_fake.balance
    assert client.rent_set_status(first.upstream_id, RentSetStatus.FINISH) == "success"
    assert rent_fake.calls[-1][1] == {"api_key": KEY, "action": "setRentStatus", "id": first.upstream_id, "status": "1"}
    assert rent_fake.balance == balance
    assert client.rent_set_status(second.upstream_id, RentSetStatus.CANCEL) == "success"
    assert rent_fake.balance == balance + Decimal("21.95")


def test_cancel_refused_after_an_sms_or_twenty_minutes(rent_fake, client):
    with_sms, old = rented(client, rent_fake), rented(client, rent_fake)
    rent_fake.deliver_rent_sms(with_sms.upstream_id, "123456")
    rent_fake.age_rental(old.upstream_id, 20 * 60 + 5)
    for rental in (with_sms, old):
        with pytest.raises(RentCannotCancel) as caught:
            client.rent_set_status(rental.upstream_id, RentSetStatus.CANCEL)
        assert caught.value.raw == "CANT_CANCEL"
    assert client.rent_set_status(old.upstream_id, RentSetStatus.FINISH) == "success"


def test_changing_an_ended_rental_is_rent_ended(rent_fake, client):
    finished, cancelled = rented(client, rent_fake), rented(client, rent_fake)
    client.rent_set_status(finished.upstream_id, RentSetStatus.FINISH)
    client.rent_set_status(cancelled.upstream_id, RentSetStatus.CANCEL)
    for rental, raw in ((finished, "ALREADY_FINISH"), (cancelled, "ALREADY_CANCEL")):
        with pytest.raises(RentEnded) as caught:
            client.rent_set_status(rental.upstream_id, RentSetStatus.CANCEL)
        assert caught.value.raw == raw
    with pytest.raises(UnknownActivation):
        client.rent_set_status("42", RentSetStatus.FINISH)


@pytest.mark.parametrize(
    "body, error",
    [
        ('{"status":"error","message":"INCORECT_STATUS"}', ProviderError),
        ('{"status":"error","message":"SERVER_ERROR"}', ProviderError),
        ('{"status":"fine"}', BadResponse),
        ("OK", BadResponse),
    ],
)
def test_set_status_replies(rent_fake, client, body, error):
    rent_fake.next_response("setRentStatus", body)
    with pytest.raises(error) as caught:
        client.rent_set_status("1", RentSetStatus.FINISH)
    assert type(caught.value) is error


# --- prolonging -----------------------------------------------------------------------------------


def test_prolong_a_live_rental_keeps_its_id_and_moves_the_end(rent_fake, client):
    rental = rented(client, rent_fake)
    balance = rent_fake.balance
    assert client.rent_prolong_price(rental.upstream_id, 4) == Decimal("7.68")  # the 4-hour offer
    assert client.rent_prolong_price(rental.upstream_id, 10) == Decimal("9.15")  # 21.95 / 24 * 10, up
    longer = client.rent_prolong(rental.upstream_id, 4)
    assert longer.upstream_id == rental.upstream_id and longer.phone == rental.phone
    assert abs(longer.ends_at - rental.ends_at - timedelta(hours=4)) < timedelta(seconds=1)
    assert rent_fake.balance == balance - Decimal("7.68")
    assert rent_fake.calls[-1][1] == {
        "api_key": KEY,
        "action": "continueRentNumber",
        "id": rental.upstream_id,
        "rent_time": "4",
    }


def test_prolong_a_finished_rental_reorders_under_a_new_id(rent_fake, client):
    rental = rented(client, rent_fake)
    client.rent_set_status(rental.upstream_id, RentSetStatus.FINISH)
    again = client.rent_prolong(rental.upstream_id, 24)
    assert again.upstream_id != rental.upstream_id and again.phone == rental.phone
    assert client.rent_status(again.upstream_id).state == RentState.ACTIVE


@pytest.mark.parametrize("how", ["cancelled", "long_finished"])
def test_prolong_a_dead_rental_is_rent_ended(rent_fake, client, how):
    rental = rented(client, rent_fake)
    if how == "cancelled":
        client.rent_set_status(rental.upstream_id, RentSetStatus.CANCEL)
    else:
        rent_fake.age_rental(rental.upstream_id, 26 * 3600)
    for call in (client.rent_prolong, client.rent_prolong_price):
        with pytest.raises(RentEnded) as caught:
            call(rental.upstream_id, 24)
        assert caught.value.raw == "RENT_DIE"


def test_prolong_errors(rent_fake, client):
    rental = rented(client, rent_fake)
    with pytest.raises(ProviderError) as caught:
        client.rent_prolong(rental.upstream_id, 1)
    assert caught.value.raw == "INVALID_TIME"
    with pytest.raises(ProviderError) as caught:
        client.rent_prolong(rental.upstream_id, 1330)
    assert caught.value.raw == "MAX_HOURS_EXCEED"
    rent_fake.balance = 0
    with pytest.raises(ProviderNoBalance):
        client.rent_prolong(rental.upstream_id, 24)
    with pytest.raises(UnknownActivation):
        client.rent_prolong("5", 24)


def test_prolong_price_falls_back_to_the_deprecated_action(rent_fake, client):
    rental = rented(client, rent_fake)
    rent_fake.next_response("continueRentInfo", "BAD_ACTION")
    assert client.rent_prolong_price(rental.upstream_id, 24) == Decimal("21.95")
    assert rent_fake.actions() == ["continueRentInfo", "getContinueRentPriceNumber"]
    rent_fake.next_response("continueRentInfo", '{"status":"success","currency":643}')
    with pytest.raises(BadResponse):
        client.rent_prolong_price(rental.upstream_id, 24)


# --- the list -------------------------------------------------------------------------------------


def test_rent_list_reads_every_page(rent_fake, make_client):
    client = make_client(rent_page_size=2)
    assert client.rent_list() == []  # NO_NUMBERS: none
    rent_fake.set_rent_offer(0, "tg", 24, "1", 10)
    ids = [client.rent(TG_24).upstream_id for _ in range(5)]
    rent_fake.clear_calls()
    assert [r.upstream_id for r in client.rent_list()] == ids
    assert [(p["page"], p["length"]) for _, p in rent_fake.calls] == [("1", "2"), ("2", "2"), ("3", "2")]
    rent_fake.next_response("getRentList", '{"status":"success","values":{"0":{"id":"x"}}}')
    with pytest.raises(BadResponse):
        client.rent_list()


# --- who rents ------------------------------------------------------------------------------------


def test_the_compatible_variant_does_not_rent(rent_fake):
    provider = Provider.objects.create(
        slot=3, protocol="smsactivate-compat", base_url=rent_fake.url, api_key=KEY, currency="RUB", config={}
    )
    client = client_for(provider)
    assert client.supports_rent is False and client_for(Provider(protocol="smsactivate")).supports_rent is True
    for call in (
        client.rent_prices,
        client.rent_list,
        lambda: client.rent(TG_24),
        lambda: client.rent_status("1"),
        lambda: client.rent_set_status("1", RentSetStatus.FINISH),
        lambda: client.rent_prolong("1", 4),
    ):
        with pytest.raises(Unsupported):
            call()
    assert rent_fake.calls == []
