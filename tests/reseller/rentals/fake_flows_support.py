"""What test_flows_fakes.py shares: a provider over each rent fake (added and catalogue-synced as an
operator would), callers of our two rent surfaces, and moving our side of a rental into the past
(each fake has its own clock control: SMS-Activate `age_rental`, Get-SMS and OTPGet `advance`)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.markup import markup_set
from reseller.models import Rental
from tests.fakes.getsms import FakeGetSms
from tests.fakes.getsms_rent import FakeGetSmsRent
from tests.fakes.otpget_rental import FakeOtpGetRental
from tests.fakes.sms_activate import FakeSmsActivate
from upstream.models import RentOffer
from upstream.services import catalogue_seed, catalogue_sync, provider_add

HANDLER = "/stubs/handler_api.php"
RENTAL_HANDLER = "/stubs/rental-handler.php"
SA_KEY = "sa-rent-SECRET-0123456789abcdef"
GS_KEY = "gs-rent-SECRET-0123456789abcdef"
OR_KEY = "or-rent-SECRET-0123456789abcdef"
INDIA, PAKISTAN = 22, 66


@pytest.fixture
def sa_fake():
    """SMS-Activate renting tg in India for 24 h and a week (RUB)."""
    with FakeSmsActivate(api_key=SA_KEY, balance="100000") as fake:
        fake.set_offer(INDIA, "tg", "12.50", 5)
        fake.set_rent_offer(INDIA, "tg", 24, "21.95", 3)
        fake.set_rent_offer(INDIA, "tg", 168, "90.00", 3)
        yield fake


@pytest.fixture
def sa_provider(sa_fake):
    provider = provider_add(
        slot=1,
        protocol="smsactivate",
        url=sa_fake.url,
        api_key=SA_KEY,
        currency="RUB",
        rate="3.10",
        name="sms-activate rent fake",
        config={"rent_countries": [INDIA], "rent_hours": [24, 168]},
    )
    catalogue_sync(provider=provider)
    markup_set(scope="global", percent="20", product="rental")
    assert RentOffer.objects.filter(provider=provider, country_id=INDIA, service__code="tg", stock__gt=0).count() == 2
    return provider


@pytest.fixture
def gs_fakes():
    """Get-SMS: the v1 API (activation catalogue) and the rent API v2 renting tg in India by the day."""
    with FakeGetSms(api_key=GS_KEY) as v1, FakeGetSmsRent(api_key=GS_KEY, balance="100000") as rent:
        v1.set_offer("indiia", "tg", "12.50", 5)
        rent.set_offer("indiia", "tg", 3, {"1day": "40", "3day": "90"})
        yield v1, rent


@pytest.fixture
def gs_provider(gs_fakes):
    v1, rent = gs_fakes
    provider = provider_add(
        slot=2,
        protocol="getsms",
        url=v1.url,
        api_key=GS_KEY,
        currency="RUB",
        rate="3.10",
        name="get-sms rent fake",
        config={"rent_url": rent.url, "rent_countries": [INDIA]},
    )
    catalogue_sync(provider=provider)
    markup_set(scope="global", percent="20", product="rental")
    offers = RentOffer.objects.filter(provider=provider, country_id=INDIA, service__code="tg")
    assert set(offers.values_list("hours", flat=True)) == {24, 72}  # 1day, 3day
    return provider


@pytest.fixture
def or_fake():
    """OTPGet rental-handler.php, Server 1 renting Pakistan (full rentals only)."""
    with FakeOtpGetRental(api_key=OR_KEY, balance="100000") as fake:
        fake.add_country(1, "pk", "Pakistan", {12: "100.00", 24: "180.00", 168: "900.00"}, {"pk-1": ("Punjab", 5)})
        yield fake


@pytest.fixture
def or_provider(or_fake):
    from reseller.rentals.servers import rental_server_set

    catalogue_seed()
    provider = provider_add(
        slot=3,
        protocol="otpget-rental",
        url=or_fake.url,
        api_key=OR_KEY,
        currency="PKR",
        name="otpget rental fake",
        config={"provider": 1},
    )
    catalogue_sync(provider=provider)
    markup_set(scope="global", percent="20", product="rental")
    assert RentOffer.objects.filter(provider=provider, country_id=PAKISTAN, service=None, hours=24).exists()
    rental_server_set(server=1, provider=provider)
    return provider


@pytest.fixture
def sa(client, django_capture_on_commit_callbacks):
    """sa(key, action, **params) -> the JSON of handler_api.php's rent action (on-commit work runs)."""

    def call(key: str, action: str, **params) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(HANDLER, {"api_key": key, "action": action, **params})
        assert response.status_code == 200 and response["Content-Type"] == "application/json", response.content
        return json.loads(response.content)

    return call


@pytest.fixture
def rh(client, django_capture_on_commit_callbacks):
    """rh(key, action, **params) -> the JSON of rental-handler.php (on-commit work runs)."""

    def call(key: str, action: str, **params) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(RENTAL_HANDLER, {"api_key": key, "action": action, **params})
        assert response.status_code == 200 and response["Content-Type"] == "application/json", response.content
        return json.loads(response.content)

    return call


def age_ours(rental: Rental, seconds: float) -> None:
    """Move our side of a rental `seconds` into the past (the fake's side is moved by its own control)."""
    delta = timedelta(seconds=seconds)
    rental.refresh_from_db()
    Rental.objects.filter(pk=rental.pk).update(
        activated_at=rental.activated_at - delta,
        created_at=rental.created_at - delta,
        expires_at=rental.expires_at - delta,
    )
    rental.refresh_from_db()


def hours_of(rental: Rental) -> Decimal:
    rental.refresh_from_db()
    return Decimal((rental.expires_at - rental.activated_at).total_seconds()) / 3600
