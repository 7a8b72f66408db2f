"""Switched-off services and countries (Service.enabled, Country.enabled) on handler_api.php, both
dialects: golden bytes of the listings leaving them out and of the purchases refused with the token
an unknown one gets (BAD_SERVICE, BAD_COUNTRY, WRONG_SERVICE, OPERATORS_NOT_FOUND,
RENEW_ACTIVATION_NOT_AVAILABLE); routing never buys them whatever offers exist; switching back on
sells at once (no cache in between). Fixtures and golden files: test_handler_api_golden(_more)."""

from decimal import Decimal

import pytest

from billing.verify import ledger_verify
from reseller.models import Activation
from reseller.orders.routing import candidates_for
from tests.reseller.conftest import balance_of
from tests.reseller.protocol import test_handler_api_golden as golden
from tests.reseller.protocol import test_handler_api_golden_more as more
from upstream.models import Country, Offer, Service

pytestmark = pytest.mark.django_db
shop, key, call, expect = golden.shop, golden.key, golden.call, golden.expect  # fixtures and checker
upstream, rich = more.upstream, more.rich


def switch(model, pk, on: bool) -> None:
    model.objects.filter(pk=pk).update(enabled=on)


LISTINGS = [
    ("getCountries", {}, "switched_getCountries"),
    ("getCountries", {"type": "1"}, "switched_getCountries_type1"),
    ("getServices", {"country": "22", "type": "1"}, "switched_getServices"),
    ("getServicesList", {}, "switched_getServicesList"),
    ("getPrices", {}, "switched_getPrices"),
    ("getPricesExtended", {}, "switched_getPricesExtended"),
    ("getPricesVerification", {}, "switched_getPricesVerification"),
    ("getNumbersStatus", {"country": "22"}, "switched_getNumbersStatus"),
    ("getTopCountriesByService", {"service": "tg"}, "switched_getTopCountriesByService"),
    ("getTopCountriesByServiceRank", {"service": "tg"}, "switched_getTopCountriesByService"),
    ("getOperators", {}, "switched_getOperators"),
]
ORIGINAL = {
    "switched_getCountries": "getCountries",
    "switched_getCountries_type1": "getCountries_type1",
    "switched_getServices": "getServices",
    "switched_getServicesList": "getServicesList",
    "switched_getPrices": "getPrices",
    "switched_getPricesExtended": "getPricesExtended",
    "switched_getPricesVerification": "getPricesVerification",
    "switched_getNumbersStatus": "getNumbersStatus",
    "switched_getTopCountriesByService": "getTopCountriesByService",
    "switched_getOperators": "getOperators",
}


@pytest.mark.parametrize("action,params,case", LISTINGS)
def test_listings_leave_out_switched_off_service_and_country(shop, key, call, action, params, case):
    expect(call(key, action, **params), ORIGINAL[case])  # both sold: the regular listing
    switch(Service, 102, False)  # wa
    switch(Country, 66, False)  # Pakistan
    expect(call(key, action, **params), case)  # the very next request leaves them out
    switch(Service, 102, True)
    switch(Country, 66, True)
    expect(call(key, action, **params), ORIGINAL[case])


REFUSED = [
    ("getNumber", {"service": "wa", "country": "22"}, "BAD_SERVICE"),
    ("getNumber", {"service": "102", "country": "22", "type": "1"}, "BAD_SERVICE"),  # OTPGet: the id
    ("getNumber", {"service": "tg", "country": "66"}, "BAD_COUNTRY"),
    ("getNumber", {"service": "tg", "country": "66", "type": "1"}, "BAD_COUNTRY"),
    ("getNumberV2", {"service": "wa", "country": "22"}, "BAD_SERVICE"),
    ("getNumberV2", {"service": "tg", "country": "66"}, "BAD_COUNTRY"),
    ("getMultiServiceNumber", {"multiService": "tg,wa", "country": "22"}, "BAD_SERVICE"),
    ("getMultiServiceNumber", {"multiService": "tg", "country": "66"}, "BAD_COUNTRY"),
    ("getServices", {"country": "66", "type": "1"}, "BAD_COUNTRY"),
    ("getServicesList", {"country": "66"}, "BAD_COUNTRY"),
    ("getPrices", {"service": "wa"}, "BAD_SERVICE"),
    ("getPrices", {"country": "66"}, "BAD_COUNTRY"),
    ("getPricesExtended", {"service": "wa"}, "BAD_SERVICE"),
    ("getPricesVerification", {"service": "wa"}, "BAD_SERVICE"),
    ("getNumbersStatus", {"country": "66"}, "BAD_COUNTRY"),
    ("getTopCountriesByService", {"service": "wa"}, "BAD_SERVICE"),
    ("getListOfTopCountriesByService", {"service": "wa"}, "WRONG_SERVICE"),
    ("getOperators", {"country": "66"}, "OPERATORS_NOT_FOUND"),
]


@pytest.mark.parametrize("action,params,case", REFUSED)
def test_switched_off_answers_as_unknown(shop, key, call, customer_with_key, action, params, case):
    switch(Service, 102, False)
    switch(Country, 66, False)
    expect(call(key, action, **params), case)
    assert not Activation.objects.exists()


def test_get_number_refused_then_sold_again_at_once(shop, call, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    switch(Service, 102, False)
    expect(call(key, "getNumber", service="wa", country="22"), "BAD_SERVICE")
    switch(Country, 22, False)
    expect(call(key, "getNumber", service="tg", country="22"), "BAD_COUNTRY")
    assert balance_of(customer) == Decimal("500.00") and not Activation.objects.exists()
    switch(Service, 102, True)
    switch(Country, 22, True)
    response = call(key, "getNumber", service="wa", country="22")
    activation = Activation.objects.get()
    expect(response, "getNumber", activation)
    assert (activation.service.code, activation.country_id, activation.price) == ("wa", 22, Decimal("16.80"))
    assert ledger_verify().ok


def test_routing_never_buys_a_switched_off_country_or_service(shop, customer_with_key):
    """Offers with stock exist for every pair; switched off, they are no candidate, also when any
    country will do (Pakistan is the cheapest tg)."""
    customer, _ = customer_with_key(balance="500.00")
    tg, wa = Service.objects.get(code="tg"), Service.objects.get(code="wa")
    india, pakistan = Country.objects.get(pk=22), Country.objects.get(pk=66)

    def bought_from(service, country):
        return [
            (c.offer.country_id, c.offer.provider.slot)
            for c in candidates_for(customer_id=customer.pk, service=service, country=country)
        ]

    assert bought_from(tg, None) == [(66, 1), (22, 1), (22, 2)]
    switch(Country, 66, False)
    assert Offer.objects.filter(country_id=66, stock__gt=0).exists()
    assert bought_from(tg, None) == [(22, 1), (22, 2)]
    assert bought_from(tg, pakistan) == []  # even handed the row directly
    switch(Service, 102, False)
    assert bought_from(wa, india) == [] and bought_from(wa, None) == []
    switch(Country, 66, True)
    switch(Service, 102, True)
    assert bought_from(tg, None) == [(66, 1), (22, 1), (22, 2)] and bought_from(wa, india) == [(22, 1)]


def test_extra_activation_of_a_switched_off_service_is_not_available(upstream, rich, call):
    fake, provider = upstream
    customer, key = rich
    parent = more._succeeded(call, key, fake, provider)
    fake.state.extra_costs["tg"] = Decimal("4.00")
    switch(Service, parent.service_id, False)
    expect(call(key, "checkExtraActivation", activationId=parent.pk), "RENEW_ACTIVATION_NOT_AVAILABLE")
    expect(call(key, "getExtraActivation", activationId=parent.pk), "RENEW_ACTIVATION_NOT_AVAILABLE")
    switch(Service, parent.service_id, True)
    switch(Country, parent.country_id, False)
    expect(call(key, "getExtraActivation", activationId=parent.pk), "RENEW_ACTIVATION_NOT_AVAILABLE")
    assert "getExtraActivation" not in fake.actions() and "checkExtraActivation" not in fake.actions()
    assert not Activation.objects.filter(parent=parent).exists()
    switch(Country, parent.country_id, True)
    response = call(key, "getExtraActivation", activationId=parent.pk)
    expect(response, "getNumber", Activation.objects.get(parent=parent))
