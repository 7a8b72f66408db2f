"""The rent catalogue: RentOffer rows from catalogue sync, the rent_offers_for selector, the admin list."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import Customer
from tests.fakes.sms_activate import FakeSmsActivate
from upstream.models import Country, CountryMapping, Provider, RentOffer, Service, ServiceMapping
from upstream.providers.base import FULL_RENT, RentPrice
from upstream.providers.sandbox import SandboxClient
from upstream.rent_catalogue import rent_offers_write
from upstream.selectors import rent_offers_for
from upstream.services import InvalidProvider, catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db

KEY = "rent-key-0123456789"


def sandbox(slot: int = 1, rate: str = "1", **config) -> Provider:
    return provider_add(slot=slot, protocol="sandbox", url="", api_key="", rate=rate, config=config)


@pytest.fixture
def fake():
    with FakeSmsActivate(api_key=KEY) as server:
        server.set_offer(0, "tg", "10", 5)
        server.set_rent_offer(0, "full", 24, "42.93", 20)
        server.set_rent_offer(0, "tg", 24, "21.95", 3)
        server.set_rent_offer(0, "tg", 12, "12.5", 4)
        yield server


def sms_activate(fake, **config) -> Provider:
    return Provider.objects.create(
        slot=2, protocol="smsactivate", base_url=fake.url, api_key=KEY, currency="RUB", rate_to_pkr=3, config=config
    )


def test_sandbox_sync_fills_the_rent_catalogue():
    catalogue_seed()
    provider = sandbox()
    result = catalogue_sync(provider=provider)
    assert result.rents and result.rent_offers_created == 4 * 3 * 6 and result.rent_error == ""
    assert "rent offers: 72 new, 0 updated, 0 unchanged, 0 out of stock, 0 skipped" in result.summary()
    full = RentOffer.objects.get(provider=provider, country_id=66, service=None, hours=24)
    assert full.cost == Decimal("500.00") and full.stock > 0
    assert RentOffer.objects.get(country_id=187, service__code="wa", hours=720).stock == 0
    again = catalogue_sync(provider=provider)
    assert (again.rent_offers_created, again.rent_offers_unchanged) == (0, 72)


def test_sms_activate_sync_updates_and_zeroes_rent_offers(fake):
    provider = sms_activate(fake, rent_hours=[12, 24])
    first = catalogue_sync(provider=provider)
    assert (first.rent_offers_created, first.rent_entries_skipped) == (3, 0)
    assert RentOffer.objects.get(service=None).cost == Decimal("42.93")
    fake.set_rent_offer(0, "tg", 24, "23", 3)
    provider.config = {"rent_hours": [24]}
    provider.save()
    second = catalogue_sync(provider=provider)
    assert (second.rent_offers_updated, second.rent_offers_unchanged, second.rent_offers_zeroed) == (1, 1, 1)
    assert RentOffer.objects.get(hours=12).stock == 0
    assert RentOffer.objects.get(hours=24, service__code="tg").cost == Decimal("23")


def test_a_failed_rent_price_list_keeps_the_rent_offers_and_syncs_the_rest(fake):
    provider = sms_activate(fake, rent_hours=[24])
    catalogue_sync(provider=provider)
    fake.set_offer(0, "tg", "11", 5)
    fake.next_response("getRentServicesAndCountries", "<html>502</html>", status=502)
    result = catalogue_sync(provider=provider)
    assert result.rent_error == "BadResponse: HTTP 502" and not result.rents
    assert "rent prices failed (BadResponse: HTTP 502), rent offers kept" in result.summary()
    assert result.offers_updated == 1 and RentOffer.objects.filter(stock__gt=0).count() == 2


def test_protocols_that_do_not_rent_leave_the_rent_catalogue_alone(monkeypatch):
    monkeypatch.setattr(SandboxClient, "supports_rent", False)
    result = catalogue_sync(provider=sandbox())
    assert not result.rents and not RentOffer.objects.exists() and "rent" not in result.summary()


def test_codes_of_its_own_go_through_the_mapping_tables():
    provider = sandbox()
    Country.objects.create(id=66, name="Pakistan")
    telegram = Service.objects.create(code="tg", name="Telegram")
    ServiceMapping.objects.create(provider=provider, upstream_code="TELE", service=telegram)
    ServiceMapping.objects.create(provider=provider, upstream_code="UNMAPPED", service=None)
    CountryMapping.objects.create(provider=provider, upstream_code="pk", country_id=66)
    prices = [
        RentPrice(country="pk", service="TELE", hours=24, cost=Decimal("1.23456"), count=2),
        RentPrice(country="pk", service=FULL_RENT, hours=24, cost=Decimal("5"), count=1),
        RentPrice(country="pk", service="UNMAPPED", hours=24, cost=Decimal("1"), count=1),
        RentPrice(country="zz", service="TELE", hours=24, cost=Decimal("1"), count=1),
    ]
    result = rent_offers_write(provider=provider, native=False, prices=prices)
    assert (result["created"], result["skipped"]) == (2, 2)
    assert RentOffer.objects.get(service=telegram).cost == Decimal("1.2346")  # rounded up


def test_one_full_rental_row_per_provider_country_and_period():
    provider = sandbox()
    Country.objects.create(id=0, name="Russia")
    RentOffer.objects.create(provider=provider, country_id=0, service=None, hours=24, cost=1, stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        RentOffer.objects.create(provider=provider, country_id=0, service=None, hours=24, cost=2, stock=1)


def test_rent_offers_for_orders_by_pkr_then_priority_then_slot():
    Country.objects.create(id=0, name="Russia")
    tg = Service.objects.create(code="tg", name="Telegram")
    cheap, dear, tied, off = (
        sandbox(slot=1, rate="3"),
        sandbox(slot=2, rate="10"),
        sandbox(slot=3, rate="1"),
        sandbox(slot=4, rate="1"),
    )
    Provider.objects.filter(pk=tied.pk).update(priority=5)
    Provider.objects.filter(pk=off.pk).update(enabled=False)
    for provider, cost in ((cheap, "10"), (dear, "5"), (tied, "30"), (off, "1")):
        RentOffer.objects.create(provider=provider, country_id=0, service=None, hours=24, cost=cost, stock=1)
        RentOffer.objects.create(provider=provider, country_id=0, service=tg, hours=24, cost=cost, stock=1)
    RentOffer.objects.create(provider=cheap, country_id=0, service=None, hours=168, cost=1, stock=0)
    full = list(rent_offers_for(country_id=0, service_id=None, hours=24))
    assert [o.provider.slot for o in full] == [3, 1, 2] and all(o.service_id is None for o in full)
    assert full[0].cost_in_pkr == Decimal("30")
    assert [o.provider.slot for o in rent_offers_for(country_id=0, service_id=tg.pk, hours=24)] == [3, 1, 2]
    assert [o.provider.slot for o in rent_offers_for(country_id=0, service_id=None, hours=24, provider_slot=2)] == [2]
    assert not rent_offers_for(country_id=0, service_id=None, hours=168).exists()  # out of stock


def test_admin_lists_rent_offers_read_only(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    catalogue_seed()
    catalogue_sync(provider=sandbox())
    page = client.get(reverse("admin:upstream_rentoffer_changelist") + "?hours__exact=24")
    assert page.status_code == 200 and b"full (every service)" in page.content
    offer = RentOffer.objects.first()
    assert client.get(reverse("admin:upstream_rentoffer_change", args=[offer.pk])).status_code == 200
    assert client.get(reverse("admin:upstream_rentoffer_add")).status_code == 403
    client.post(reverse("admin:upstream_rentoffer_delete", args=[offer.pk]), {"post": "yes"})
    assert RentOffer.objects.filter(pk=offer.pk).exists()


@pytest.mark.parametrize(
    "config, key",
    [({"rent_hours": [0]}, "rent_hours"), ({"rent_timezone": "Nowhere/City"}, "rent_timezone")],
)
def test_provider_add_refuses_a_bad_rent_config(config, key):
    with pytest.raises(InvalidProvider, match=key):
        provider_add(slot=1, protocol="smsactivate", url="https://api.example.com/h", api_key="k", config=config)
    assert provider_add(
        slot=1, protocol="smsactivate", url="https://api.example.com/h", api_key="k", config={"rent_hours": [24]}
    ).config == {"rent_hours": [24]}
