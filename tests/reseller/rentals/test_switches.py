"""Switched-off services and countries on the rent surfaces: SMS-Activate's rent actions on
handler_api.php and rental-handler.php. Golden bytes: listings leave them out; a rental answers
as for an unknown service or country; switching back on sells again at once."""

from decimal import Decimal

import pytest

from reseller.models import Rental
from tests.reseller.conftest import balance_of
from tests.reseller.rentals import rental_handler_support as support
from tests.reseller.rentals import test_rent_actions_golden as rent_golden
from tests.reseller.rentals.rental_handler_support import expect, offer_ids
from upstream.models import Country, RentOffer, Service

pytestmark = pytest.mark.django_db
rh, servers = support.rh, support.servers
renting, call = rent_golden.renting, rent_golden.call


def switch(model, **filters) -> None:
    on = filters.pop("on")
    model.objects.filter(**filters).update(enabled=on)


def test_rent_actions(renting, customer_with_key, call):
    customer, key = customer_with_key(balance="1000.00")
    switch(Service, code="wa", on=False)
    rent_golden.expect(call(key, "getRentServicesAndCountries", country="22"), "switched_getRentServicesAndCountries")
    rent_golden.expect(call(key, "getRentNumber", service="wa", country="22"), "BAD_SERVICE")
    switch(Country, pk=22, on=False)
    assert RentOffer.objects.filter(country_id=22, stock__gt=0).exists()
    rent_golden.expect(call(key, "getRentServicesAndCountries", country="22"), "OUT_OF_STOCK")
    rent_golden.expect(call(key, "getRentNumber", service="tg", country="22"), "NO_NUMBERS")
    rent_golden.expect(call(key, "getRentNumber", service="full", country="22"), "NO_NUMBERS")
    assert not Rental.objects.filter(state="active").exists() and balance_of(customer) == Decimal("1000.00")
    switch(Country, pk=22, on=True)
    switch(Service, code="wa", on=True)
    rent_golden.expect(call(key, "getRentServicesAndCountries", country="22"), "getRentServicesAndCountries")
    assert call(key, "getRentNumber", service="wa", country="22").json()["status"] == "success"


def test_rental_handler(servers, customer_with_key, rh):
    customer, key = customer_with_key(balance="5000.00")
    one, _ = servers
    switch(Country, pk=22, on=False)
    expect(rh(key, "getRentalCountries", provider="1"), "switched_getRentalCountries_provider1")
    expect(rh(key, "getRentalPricing", country_code="in", provider="1"), "getRentalPricing_empty")
    expect(rh(key, "getAvailableRentals", country_code="in", provider="1"), "getAvailableRentals_empty")
    expect(rh(key, "rentNumber", country_code="in", provider="1", duration_hours="24"), "no_pricing")
    assert not Rental.objects.exists() and balance_of(customer) == Decimal("5000.00")
    switch(Country, pk=22, on=True)
    expect(rh(key, "getRentalCountries", provider="1"), "getRentalCountries_provider1_only")
    expect(rh(key, "getRentalPricing", country_code="in", provider="1"), "getRentalPricing_in_1", **offer_ids(one, 22))
    response = rh(key, "rentNumber", country_code="in", provider="1", duration_hours="24")
    assert b'"status":"200"' in response.content


def test_renewals_stop_while_switched_off(servers, customer_with_key, rh):
    customer, key = customer_with_key(balance="5000.00")
    response = rh(key, "rentNumber", country_code="in", provider="1", duration_hours="24")
    rental = Rental.objects.get(pk=int(response.json()["order_id"]))
    paid = balance_of(customer)
    switch(Country, pk=22, on=False)
    expect(rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="24"), "no_pricing")
    assert balance_of(customer) == paid
    switch(Country, pk=22, on=True)
    renewed = rh(key, "renewRental", rental_id=str(rental.pk), duration_hours="24")
    assert renewed.json()["status"] == "200" and balance_of(customer) < paid
