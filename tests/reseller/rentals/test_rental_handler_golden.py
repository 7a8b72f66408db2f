"""Golden bytes of every rental-handler.php action and error, for GET, POST with a form body and
POST with the query string only: body, content type and HTTP 200, exactly (the shapes decided in
upstream.providers.otpget_rental_wire). Values the server assigns are filled from the database."""

from decimal import Decimal

import pytest
from django.db import OperationalError

from reseller.models import Rental, RentalServer
from tests.reseller.conftest import balance_of
from tests.reseller.rentals import rental_handler_support as support
from tests.reseller.rentals.rental_handler_support import METHODS, expect, local, offer_ids
from upstream.models import Provider

pytestmark = pytest.mark.django_db
rh, servers = support.rh, support.servers  # fixtures


@pytest.fixture
def key(customer_with_key):
    return customer_with_key(balance="5000.00")[1]


def rent(rh, key, method="get", provider="1", hours="24", country="in") -> Rental:
    response = rh(key, "rentNumber", method=method, country_code=country, provider=provider, duration_hours=hours)
    assert b'"status":"200"' in response.content, response.content
    return Rental.objects.order_by("-id").first()


# --- catalogue ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "action,params,case,offers",
    [
        ("getRentalCountries", {}, "getRentalCountries", None),
        ("getRentalCountries", {"provider": ""}, "getRentalCountries", None),
        ("getRentalCountries", {"provider": "2"}, "getRentalCountries_provider2", None),
        ("getRentalCountries", {"provider": " 1 "}, "getRentalCountries_provider1_only", None),
        ("getRentalCountries", {"provider": "3"}, "bad_provider", None),
        ("getRentalCountries", {"provider": "x"}, "bad_provider", None),
        ("getRentalPricing", {"country_code": "in", "provider": "1"}, "getRentalPricing_in_1", (1, 22)),
        ("getRentalPricing", {"country_code": "IN", "provider": "1"}, "getRentalPricing_in_1", (1, 22)),
        ("getRentalPricing", {"country_code": "us", "provider": "2"}, "getRentalPricing_us_2", (2, 187)),
        ("getRentalPricing", {"country_code": "zz", "provider": "1"}, "getRentalPricing_empty", None),
        ("getRentalPricing", {"country_code": "de", "provider": "1"}, "getRentalPricing_empty", None),
        ("getRentalPricing", {"provider": "1"}, "required_country_code", None),
        ("getRentalPricing", {"country_code": "in"}, "required_provider", None),
        ("getRentalPricing", {"country_code": "in", "provider": "0"}, "bad_provider", None),
        ("getAvailableRentals", {"country_code": "in", "provider": "1"}, "getAvailableRentals_in_1", None),
        ("getAvailableRentals", {"country_code": "in", "provider": "2"}, "getAvailableRentals_in_2", None),
        ("getAvailableRentals", {"country_code": "zz", "provider": "2"}, "getAvailableRentals_empty", None),
        ("getAvailableRentals", {"country_code": " ", "provider": "2"}, "required_country_code", None),
        ("getAvailableRentals", {"country_code": "in"}, "required_provider", None),
        ("getAvailableRentals", {"country_code": "in", "provider": "12"}, "bad_provider", None),
        ("getMyRentals", {}, "getMyRentals_empty", None),
    ],
)
def test_catalogue(servers, key, rh, action, params, case, offers, method):
    values = offer_ids(servers[offers[0] - 1], offers[1]) if offers else {}
    expect(rh(key, action, method=method, **params), case, **values)


@pytest.mark.parametrize("method", METHODS)
def test_a_disabled_or_missing_server_is_unavailable(servers, key, rh, method):
    RentalServer.objects.filter(server=1).update(enabled=False)
    expect(rh(key, "getRentalCountries", method=method, provider="1"), "unavailable_1")
    expect(rh(key, "getRentalCountries", method=method), "getRentalCountries_provider2")  # not listed
    expect(rh(key, "getRentalPricing", method=method, country_code="in", provider="1"), "unavailable_1")
    expect(rh(key, "getAvailableRentals", method=method, country_code="in", provider="1"), "unavailable_1")
    expect(rh(key, "rentNumber", method=method, country_code="in", provider="1", duration_hours="24"), "unavailable_1")
    Provider.objects.filter(slot=2).update(enabled=False)
    expect(rh(key, "getRentalPricing", method=method, country_code="in", provider="2"), "unavailable_2")
    RentalServer.objects.filter(server=2).delete()
    expect(rh(key, "getAvailableRentals", method=method, country_code="in", provider="2"), "unavailable_2")
    expect(rh(key, "getRentalCountries", method=method), "countries_none")


# --- renting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_rent_list_sms_renew(servers, customer_with_key, rh, method):
    customer, key = customer_with_key(balance="5000.00")
    response = rh(key, "rentNumber", method=method, country_code="in", provider="1", duration_hours="24")
    rental = Rental.objects.get()
    assert rental.state == "active" and rental.server == 1 and rental.service is None and rental.hours == 24
    assert rental.price == Decimal("480.00") and balance_of(customer) == Decimal("4520.00")
    common = {"id": rental.pk, "phone": rental.phone}
    expect(
        response, "rentNumber", **common, hours=24, price="480.00", balance="4520.00", expires=local(rental.expires_at)
    )
    expect(
        rh(key, "getMyRentals", method=method),
        "getMyRentals",
        **common,
        server=1,
        status="active",
        expires=local(rental.expires_at),
    )
    expect(rh(key, "getRentalSMS", method=method, order_id=str(rental.pk)), "getRentalSMS_empty")
    response = rh(key, "renewRental", method=method, rental_id=str(rental.pk), duration_hours="24")
    rental.refresh_from_db()
    assert balance_of(customer) == Decimal("4040.00")
    expect(
        response, "renewRental", **common, hours=24, price="480.00", balance="4040.00", expires=local(rental.expires_at)
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "params,case",
    [
        ({"provider": "1", "duration_hours": "24"}, "required_country_code"),
        ({"country_code": "in", "duration_hours": "24"}, "required_provider"),
        ({"country_code": "in", "provider": "1"}, "required_duration_hours"),
        ({"country_code": "in", "provider": "1", "duration_hours": ""}, "required_duration_hours"),
        ({"country_code": "in", "provider": "3", "duration_hours": "24"}, "bad_provider"),
        ({"country_code": "in", "provider": "1", "duration_hours": "5"}, "bad_duration"),
        ({"country_code": "in", "provider": "1", "duration_hours": "24.0"}, "bad_duration"),
        ({"country_code": "in", "provider": "1", "duration_hours": "-24"}, "bad_duration"),
        ({"country_code": "in", "provider": "1", "duration_hours": "9" * 40}, "bad_duration"),
        ({"country_code": "in", "provider": "2", "duration_hours": "24"}, "server2_monthly"),
        ({"country_code": "in", "provider": "2", "duration_hours": "168"}, "server2_monthly"),
        ({"country_code": "in", "provider": "2", "duration_hours": "7"}, "server2_monthly"),
        ({"country_code": "in", "provider": "1", "duration_hours": "8640"}, "no_balance"),
        ({"country_code": "zz", "provider": "1", "duration_hours": "24"}, "no_pricing"),
        ({"country_code": "de", "provider": "1", "duration_hours": "24"}, "no_pricing"),
        ({"country_code": "in'--", "provider": "1", "duration_hours": "24"}, "no_pricing"),
    ],
)
def test_rent_number_errors(servers, customer_with_key, rh, params, case, method):
    customer, key = customer_with_key(balance="5000.00")
    expect(rh(key, "rentNumber", method=method, **params), case)
    assert balance_of(customer) == Decimal("5000.00")
    assert not Rental.objects.filter(state="active").exists()


@pytest.mark.parametrize(
    "fail,case",
    [
        ("error", "server_error_1"),
        ("no_numbers", "no_pricing"),
        ("unavailable", "server_error_1_unavailable"),
        ("garbage", "server_error_1_bad_response"),
        ("timeout", "server_error_1_timeout"),
    ],
)
def test_upstream_failures_of_a_rent(servers, customer_with_key, rh, fail, case):
    customer, key = customer_with_key(balance="5000.00")
    Provider.objects.filter(slot=1).update(config={"fail": fail, "fail_actions": ["rent"]})
    expect(rh(key, "rentNumber", country_code="in", provider="1", duration_hours="24"), case)
    assert balance_of(customer) == Decimal("5000.00")


@pytest.mark.parametrize("method", METHODS)
def test_sms_and_renew_errors(servers, customer_with_key, rh, method):
    customer, key = customer_with_key(balance="5000.00")
    _, other = customer_with_key(balance="5000.00")
    rental = rent(rh, key, method)
    pk = str(rental.pk)
    expect(rh(key, "getRentalSMS", method=method), "required_order_id")
    expect(rh(key, "getRentalSMS", method=method, order_id=""), "required_order_id")
    for bad in ("abc", "0", str(rental.pk + 1000), "9" * 40, "-1"):
        expect(rh(key, "getRentalSMS", method=method, order_id=bad), "not_found")
        expect(rh(key, "renewRental", method=method, rental_id=bad, duration_hours="24"), "not_found")
    expect(rh(other, "getRentalSMS", method=method, order_id=pk), "not_found")
    expect(rh(other, "renewRental", method=method, rental_id=pk, duration_hours="24"), "not_found")
    expect(rh(key, "renewRental", method=method, duration_hours="24"), "required_rental_id")
    expect(rh(key, "renewRental", method=method, rental_id=pk), "required_duration_hours")
    expect(rh(key, "renewRental", method=method, rental_id=pk, duration_hours="25"), "bad_duration")
    before = balance_of(customer)
    Provider.objects.filter(slot=1).update(
        config={"rent_sms_every_seconds": 60, "fail": "error", "fail_actions": ["rent_prolong"]}
    )
    expect(rh(key, "renewRental", method=method, rental_id=pk, duration_hours="24"), "server_error_1")
    Provider.objects.filter(slot=1).update(config={"rent_sms_every_seconds": 60})
    RentalServer.objects.filter(server=1).update(enabled=False)
    expect(rh(key, "renewRental", method=method, rental_id=pk, duration_hours="24"), "unavailable_1")
    RentalServer.objects.filter(server=1).update(enabled=True)
    expect(rh(key, "renewRental", method=method, rental_id=pk, duration_hours="8640"), "no_balance")
    assert balance_of(customer) == before
    Rental.objects.filter(pk=rental.pk).update(state="expired")
    expect(rh(key, "renewRental", method=method, rental_id=pk, duration_hours="24"), "not_active")
    assert balance_of(customer) == before


def test_server_2_renews_monthly_only(servers, customer_with_key, rh):
    customer, key = customer_with_key(balance="50000.00")
    rental = rent(rh, key, provider="2", hours="720")
    assert rental.server == 2 and rental.provider.slot == 2 and rental.price == Decimal("7200.00")
    expect(rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="24"), "server2_monthly")
    response = rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="720")
    rental.refresh_from_db()
    expect(
        response,
        "renewRental",
        phone=rental.phone,
        hours=720,
        price="7200.00",
        balance="35600.00",
        expires=local(rental.expires_at),
    )


@pytest.mark.parametrize("error", [RuntimeError("boom"), OperationalError("connection lost")])
def test_unexpected_error_is_database_error(servers, key, rh, monkeypatch, error):
    from reseller.protocol.actions import rentals as actions

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(actions, "rental_purchase", broken)
    expect(rh(key, "rentNumber", country_code="in", provider="1", duration_hours="24"), "database_error")


def test_a_failed_request_id_fails_again_without_a_charge(servers, customer_with_key, rh):
    customer, key = customer_with_key(balance="5000.00")
    rental = rent(rh, key)
    before = balance_of(customer)
    Provider.objects.filter(slot=1).update(config={"fail": "error", "fail_actions": ["rent_prolong"]})
    expect(rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="24", request_id="k1"), "server_error_1")
    Provider.objects.filter(slot=1).update(config={})
    expect(rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="24", request_id="k1"), "server_error_1")
    assert balance_of(customer) == before
    response = rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="24", request_id="k2")
    assert b'"status":"200"' in response.content and balance_of(customer) == before - Decimal("480.00")


def test_a_renewal_still_being_bought(servers, key, rh, monkeypatch):
    from reseller.protocol.actions import rentals as actions
    from reseller.rentals.errors import RenewalInProgress

    rental = rent(rh, key)

    def busy(**kwargs):
        raise RenewalInProgress()

    monkeypatch.setattr(actions, "rental_renew", busy)
    expect(rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="24", request_id="k"), "renewal_in_progress")
