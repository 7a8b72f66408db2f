"""Shared by the GetSmsClient tests: the fake Get-SMS server and clients for provider rows."""

from decimal import Decimal

import pytest

from tests.fakes.getsms import FakeGetSms
from upstream.models import Provider
from upstream.providers.base import BuyRequest
from upstream.providers.getsms import GetSmsClient

KEY = "gs-SECRET-0123456789abcdef"
TG_INDIA = BuyRequest(service="tg", country=22)  # Get-SMS slug "indiia"


@pytest.fixture
def fake():
    with FakeGetSms(api_key=KEY) as server:
        server.set_offer("indiia", "tg", "12.50", 5)
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, url=fake.url, key=KEY, **config) -> GetSmsClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, **config) -> GetSmsClient:
        provider = Provider.objects.create(
            slot=slot,
            protocol="getsms",
            base_url=url or fake.url,
            api_key=key,
            currency="RUB",
            rate_to_pkr=Decimal("3.10"),
            config=config,
        )
        return GetSmsClient(provider)

    return make


@pytest.fixture
def client(make_client):
    return make_client()
