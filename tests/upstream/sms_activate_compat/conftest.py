"""Shared by the SmsActivateCompatClient tests: the fake variant server and clients for provider rows."""

from decimal import Decimal

import pytest

from tests.fakes.sms_activate_compat import FakeSmsActivateCompat
from upstream.models import Provider
from upstream.providers.base import BuyRequest
from upstream.providers.sms_activate_compat import SmsActivateCompatClient

KEY = "sk-COMPAT-0123456789abcdef"
TG_INDIA = BuyRequest(service="tg", country=22)


@pytest.fixture
def fake():
    """India/Telegram from three upstream providers: 3 at 12.50 (5 left), 4 at 9.00 (sold out), 7 at 15 (2 left)."""
    with FakeSmsActivateCompat(api_key=KEY) as server:
        server.set_offer(22, "tg", "12.50", 5, provider_id=3)
        server.set_offer(22, "tg", "9.00", 0, provider_id=4)
        server.set_offer(22, "tg", "15", 2, provider_id=7)
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, url=fake.url, key=KEY, **config) -> SmsActivateCompatClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, **config) -> SmsActivateCompatClient:
        provider = Provider.objects.create(
            slot=slot,
            protocol="smsactivate-compat",
            base_url=url or fake.url,
            api_key=key,
            currency="USD",
            rate_to_pkr=Decimal("280"),
            config=config,
        )
        return SmsActivateCompatClient(provider)

    return make


@pytest.fixture
def client(make_client):
    return make_client()
