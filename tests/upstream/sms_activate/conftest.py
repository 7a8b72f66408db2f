"""Shared by the SmsActivateClient tests: the fake SMS-Activate server and clients for provider rows."""

from decimal import Decimal

import pytest

from tests.fakes.sms_activate import FakeSmsActivate
from upstream.models import Provider
from upstream.providers import client_for
from upstream.providers.base import BuyRequest, RentRequest
from upstream.providers.sms_activate import SmsActivateClient

KEY = "sk-SECRET-0123456789abcdef"
TG_INDIA = BuyRequest(service="tg", country=22)
TG_24 = RentRequest(country=0, service="tg", hours=24)


@pytest.fixture
def fake():
    with FakeSmsActivate(api_key=KEY) as server:
        server.set_offer(22, "tg", "12.50", 5)
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, url=fake.url, key=KEY, **config) -> SmsActivateClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, **config) -> SmsActivateClient:
        provider = Provider.objects.create(
            slot=slot,
            protocol="smsactivate",
            base_url=url or fake.url,
            api_key=key,
            currency="RUB",
            rate_to_pkr=Decimal("3.10"),
            config=config,
        )
        client = client_for(provider)
        assert isinstance(client, SmsActivateClient)
        return client

    return make


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def rent_fake(fake):
    fake.set_rent_offer(0, "full", 24, "42.93", 20)
    fake.set_rent_offer(0, "tg", 24, "21.95", 3)
    fake.set_rent_offer(0, "tg", 4, "7.68", 0)
    fake.set_rent_offer(2, "vk", 12, "5.2", 42)
    return fake


def rented(client, fake, request=TG_24):
    """A new rental, the calls so far forgotten."""
    result = client.rent(request)
    fake.clear_calls()
    return result
