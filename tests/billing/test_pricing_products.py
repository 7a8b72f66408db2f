"""Rules for rentals only: rentals are priced by a matching rental rule first; activations never see one."""

from decimal import Decimal

import pytest

from billing.markup import markup_set
from billing.models import MarkupRule
from billing.pricing import PriceBook, rule_label

pytestmark = pytest.mark.django_db


def test_rental_rules_price_rentals_apart():
    markup_set(scope="global", percent="10")
    rental_rule = markup_set(scope="global", percent="50", product="rental")
    assert MarkupRule.objects.filter(scope="global").count() == 2  # one global rule per product
    assert rule_label(rental_rule) == "rentals: global"
    book = PriceBook.load(customer_id=None)
    ids = {"provider_id": 1, "country_id": 22, "service_id": 5}
    assert book.quote(cost_pkr=Decimal("100"), **ids).price == Decimal("110.00")
    assert book.quote(cost_pkr=Decimal("100"), product="activation", **ids).price == Decimal("110.00")
    assert book.quote(cost_pkr=Decimal("100"), product="rental", **ids).price == Decimal("150.00")
    # a full rental (no service) is priced by the rental rules too
    assert book.quote(
        cost_pkr=Decimal("100"), product="rental", provider_id=1, country_id=22, service_id=None
    ).price == (Decimal("150.00"))


def test_a_general_rule_prices_rentals_where_no_rental_rule_matches():
    markup_set(scope="global", percent="10")
    book = PriceBook.load(customer_id=None)
    assert book.quote(
        cost_pkr=Decimal("100"), provider_id=1, country_id=22, service_id=None, product="rental"
    ).price == (Decimal("110.00"))


def test_an_unknown_product_is_refused():
    with pytest.raises(ValueError, match="product"):
        markup_set(scope="global", percent="10", product="voice")


def test_email_rules_price_emails_apart():
    markup_set(scope="global", percent="10")
    markup_set(scope="global", percent="50", product="rental")
    email_rule = markup_set(scope="global", percent="30", product="email")
    assert rule_label(email_rule) == "emails: global"
    book = PriceBook.load(customer_id=None)
    email = {"provider_id": 1, "country_id": None, "service_id": None}
    assert book.quote(cost_pkr=Decimal("100"), product="email", **email).price == Decimal("130.00")
    assert book.quote(cost_pkr=Decimal("100"), **email).price == Decimal("110.00")  # other products: general
    assert book.quote(cost_pkr=Decimal("100"), product="rental", **email).price == Decimal("150.00")
