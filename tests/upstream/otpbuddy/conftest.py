"""Shared by the OtpBuddyClient tests: the fake OTPBuddy server and clients for provider rows."""

from decimal import Decimal

import pytest

from tests.fakes.otpbuddy import FakeOtpBuddy
from upstream.models import Provider
from upstream.providers.base import BuyRequest
from upstream.providers.otpbuddy import OtpBuddyClient

KEY = "ob-SECRET-0123456789abcdef"
BNE_INDIA = BuyRequest(service="bne", country=22)


@pytest.fixture
def fake():
    """Server 1 sells bne in India at 13.00 (5 left); server 2 sells aaz in India at 9.50 (3 left)."""
    with FakeOtpBuddy(api_key=KEY) as server:
        server.set_offer(22, "bne", "13.00", 5)
        server.set_offer(22, "aaz", "9.50", 3, server=2)
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, url=fake.url, key=KEY, **config) -> OtpBuddyClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, **config) -> OtpBuddyClient:
        provider = Provider.objects.create(
            slot=slot,
            protocol="otpbuddy",
            base_url=url or fake.url,
            api_key=key,
            currency="INR",
            rate_to_pkr=Decimal("3.30"),
            config=config,
        )
        return OtpBuddyClient(provider)

    return make


@pytest.fixture
def client(make_client):
    return make_client(server_id=1)
