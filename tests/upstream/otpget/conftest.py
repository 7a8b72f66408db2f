"""Shared by the OtpGetClient tests: the fake OTPGet server and clients for provider rows."""

from decimal import Decimal

import pytest

from tests.fakes.otpget import FakeOtpGet
from upstream.models import Provider
from upstream.providers.base import BuyRequest
from upstream.providers.otpget import OtpGetClient

KEY = "otpget-SECRET-0123456789abcdef"
TG_PK = BuyRequest(service="101", country=61)  # Telegram in Pakistan, type 1
# Bodies that are no reply to any action.
GARBAGE = [
    "<html><body>502 Bad Gateway</body></html>",
    "OK",
    "ERROR_SQL",
    "ERROR_PROVIDER_7:x",
    "BAD_KEYS",
    '{"status":"error","message":"NO_NUMBERS"}',
    "STATUS_OK:123\n456",
]


@pytest.fixture
def fake():
    """Type 1: Pakistan (61) Telegram 50 x5, WhatsApp 60 x3, Instagram out of stock; USA (12) Telegram 80 x2.
    Type 2: Canada (33) Instagram 55 x1. Balance 500 PKR; cancelling is allowed at once."""
    with FakeOtpGet(api_key=KEY, early_cancel_seconds=0) as server:
        server.set_offer(1, 61, "101", "Telegram", "50", 5)
        server.set_offer(1, 61, "102", "WhatsApp", "60", 3)
        server.set_offer(1, 61, "103", "Instagram", "55", 0)
        server.set_offer(1, 12, "101", "Telegram", "80", 2)
        server.set_offer(2, 33, "103", "Instagram", "55", 1)
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, *, url=fake.url, key=KEY, config={"type": 1}) -> OtpGetClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, config: dict | None = None) -> OtpGetClient:
        provider = Provider.objects.create(
            slot=slot,
            protocol="otpget",
            base_url=url or fake.url,
            api_key=key,
            currency="PKR",
            rate_to_pkr=Decimal("1"),
            config={"type": 1} if config is None else config,
        )
        return OtpGetClient(provider)

    return make


@pytest.fixture
def client(make_client):
    return make_client()
