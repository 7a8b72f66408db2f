"""The e-mail catalogue written by catalogue sync: EmailOffer rows per (domain, service), only what
changed, stock 0 for what the upstream no longer lists, a failing price list leaves them as they were."""

from decimal import Decimal

import pytest

from upstream.email_catalogue import email_offers_write
from upstream.models import EmailOffer, Provider
from upstream.providers.base import ANY_SITE, EmailPrice
from upstream.services import catalogue_sync

pytestmark = pytest.mark.django_db


def test_sync_writes_changes_only_and_zeroes_what_is_gone():
    provider = Provider.objects.create(slot=1, protocol="sandbox")
    prices = [
        EmailPrice("Gmail.com", ANY_SITE, Decimal("15.60"), 10),
        EmailPrice("gmail.com", "ig", Decimal("120.00001"), 5, name="Instagram"),
        EmailPrice("mail.com", ANY_SITE, Decimal("1.2"), 3),
        EmailPrice("", ANY_SITE, Decimal("1"), 1),  # no domain: skipped
        EmailPrice("x.com", ANY_SITE, Decimal("-1"), 1),  # a negative cost: skipped
    ]
    assert email_offers_write(provider=provider, prices=prices) == {
        "created": 3, "updated": 0, "unchanged": 0, "zeroed": 0, "skipped": 2,
    }  # fmt: skip
    ig = EmailOffer.objects.get(domain="gmail.com", service="ig")
    assert ig.cost == Decimal("120.0001") and ig.name == "Instagram"  # rounded up, never under-priced
    again = [EmailPrice("gmail.com", ANY_SITE, Decimal("15.60"), 9), prices[1]]
    assert email_offers_write(provider=provider, prices=again) == {
        "created": 0, "updated": 1, "unchanged": 1, "zeroed": 1, "skipped": 0,
    }  # fmt: skip
    assert EmailOffer.objects.get(domain="mail.com").stock == 0
    assert EmailOffer.objects.get(domain="gmail.com", service="").stock == 9


def test_a_failing_email_price_list_keeps_the_offers_and_the_rest_syncs():
    provider = Provider.objects.create(slot=1, protocol="sandbox")
    first = catalogue_sync(provider=provider)
    assert first.emails and first.email_offers_created == EmailOffer.objects.filter(provider=provider).count() > 0
    provider.config = {"fail": "error", "fail_actions": ["email_prices"]}
    provider.save(update_fields=["config"])
    result = catalogue_sync(provider=provider)
    assert result.email_error and "e-mail prices failed" in result.summary()
    assert EmailOffer.objects.filter(provider=provider, stock__gt=0).exists()
    assert result.offers_unchanged > 0  # the activation catalogue synced all the same
