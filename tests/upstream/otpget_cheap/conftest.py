"""Shared by the OtpGetCheapClient tests: the fake cheap_handler.php and clients for provider rows."""

from decimal import Decimal

import pytest

from tests.fakes.otpget_cheap import FakeOtpGetCheap
from upstream.models import Provider
from upstream.providers.base import BuyRequest
from upstream.providers.otpget_cheap import OtpGetCheapClient

KEY = "cheap-SECRET-0123456789abcdef"
FACEBOOK = BuyRequest(service="1", country=0)  # server 1 sells one service: its code is the server id
TELEGRAM = BuyRequest(service="2:1", country=0)  # server 2 sells several: <server id>:<service id>
# Bodies that are no reply to any action.
GARBAGE = [
    "<html><body>502 Bad Gateway</body></html>",
    "OK",
    "ERROR_SQL",
    "LOW_BALANCES",
    "NO_BALANCE",
    '{"status":"error","message":"NO_NUMBERS"}',
    "STATUS_OK:123\n456",
]


@pytest.fixture
def fake():
    """Type 1: server 1 "Random Facebook - Free" sells Facebook at 15.00 x5; server 2 "Pakistan - Server 2"
    sells Telegram 50.00 x3, WhatsApp 60.00 x0 and Instagram 1200.00 x1. Type 2: server 7 sells Google 30.00.
    Balance 500 PKR; cancelling is allowed at once."""
    with FakeOtpGetCheap(api_key=KEY, early_cancel_seconds=0) as server:
        server.add_server("1", "Random Facebook - Free")
        server.set_service("1", "1", "Facebook", "15.00", count=5)
        server.add_server("2", "Pakistan - Server 2")
        server.set_service("2", "1", "Telegram", "50.00", count=3)
        server.set_service("2", "2", "WhatsApp", "60.00", count=0)
        server.set_service("2", "3", "Instagram", "1200.00", count=1)
        server.add_server("7", "Type two", type=2)
        server.set_service("7", "1", "Google", "30.00")
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, *, url=fake.url, key=KEY, config={"type": 1}) -> OtpGetCheapClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, config: dict | None = None):
        provider = Provider.objects.create(
            slot=slot,
            protocol="otpget-cheap",
            base_url=url or fake.url,
            api_key=key,
            currency="PKR",
            rate_to_pkr=Decimal("1"),
            config={"type": 1} if config is None else config,
        )
        return OtpGetCheapClient(provider)

    return make


@pytest.fixture
def client(make_client):
    return make_client()
