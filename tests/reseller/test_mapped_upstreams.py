"""Upstreams with codes of their own (OTPBuddy) go through the mapping tables; upstreams
without an active list book an unreconcilable unknown outcome as a loss."""

from datetime import timedelta
from decimal import Decimal

import pytest

from reseller.activations.reconcile import provider_reconcile
from reseller.models import Activation
from tests.fakes.otpbuddy import FakeOtpBuddy
from tests.fakes.sms_activate_compat import FakeSmsActivateCompat
from tests.reseller.conftest import account, balance_of
from upstream.models import CountryMapping, Offer, Service, ServiceMapping
from upstream.services import catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


def test_otpbuddy_codes_are_mapped_by_name_and_used_for_buying(api, customer_with_key):
    catalogue_seed()
    with FakeOtpBuddy(api_key="k") as fake:
        fake.set_offer(22, "aaz", "12.00", 7)  # its Amazon
        fake.set_offer(22, "apg", "3.00", 4)  # "Mera Gaon": no such service of ours
        provider = provider_add(slot=3, protocol="otpbuddy", url=fake.url, api_key="k", config={"server_id": 1})
        result = catalogue_sync(provider=provider)

        amazon = Service.objects.get(code="am")
        assert ServiceMapping.objects.get(provider=provider, upstream_code="aaz").service == amazon
        assert ServiceMapping.objects.get(provider=provider, upstream_code="apg").service is None  # for the admin
        assert CountryMapping.objects.get(provider=provider, upstream_code="22").country_id == 22
        assert not Service.objects.filter(code__in=["aaz", "apg"]).exists()  # no services under its codes
        assert result.entries_skipped == 1
        assert Offer.objects.get(provider=provider, service=amazon, country_id=22).stock == 7

        _, key = customer_with_key(balance="100.00")
        reply = api(key, "getNumber", service="am", country="22")
        assert reply.startswith("ACCESS_NUMBER:"), reply
        assert ("getNumber", "aaz") in [(a, p.get("service")) for a, p in fake.calls]


def test_unknown_outcome_without_an_active_list_is_closed_as_a_loss(api, customer_with_key):
    with FakeSmsActivateCompat(api_key="k") as fake:
        fake.set_offer(22, "tg", "10.00", 5)
        provider = provider_add(
            slot=2, protocol="smsactivate-compat", url=fake.url, api_key="k", config={"timeout_seconds": 0.3}
        )
        Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})
        from upstream.models import Country

        Country.objects.get_or_create(id=22, defaults={"name": "India"})
        catalogue_sync(provider=provider)
        customer, key = customer_with_key(balance="100.00")
        fake.delay(1.0, actions=["getNumberV2"])
        assert api(key, "getNumber", service="tg", country="22") == "ERROR_PROVIDER_2:TIMEOUT"
        a = Activation.objects.get()
        assert balance_of(customer) == Decimal("100.00")
        Activation.objects.filter(pk=a.pk).update(created_at=a.created_at - timedelta(seconds=1600))
        report = provider_reconcile(provider_id=provider.pk)
        assert report["closed"] == 1 and report["losses"] == 1
        assert account("losses") == a.cost_pkr == Decimal("10.00")
        a.refresh_from_db()
        assert a.upstream_pending == "" and "booked as a loss" in a.failure
