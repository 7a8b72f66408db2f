"""Shared by the OtpGetEmailClient tests: the fake email_handler.php and clients for provider rows."""

import pytest

from tests.fakes.otpget_email import FakeOtpGetEmail
from upstream.models import Provider
from upstream.providers.otpget_email import OtpGetEmailClient

KEY = "email-SECRET-0123456789abcdef"


@pytest.fixture
def fake():
    """Server 1 sells Instagram (48) and Telegram (120) on gmail.com, Discord (0 in stock) on
    outlook.com; Server 2 sells gmail.com, mail.com, gmx.com (the document's samples) and
    outlook.com (none in stock). Balance 5000 PKR."""
    with FakeOtpGetEmail(api_key=KEY) as server:
        server.add_service("gmail.com", "ig", "Instagram", "120.00", 48)
        server.add_service("gmail.com", "tg", "Telegram", "95.00", 120)
        server.add_service("outlook.com", "ds", "Discord", "60.00", 0)
        server.add_domain("gmail.com", "15.60", 82000)
        server.add_domain("mail.com", "1.17", 990125)
        server.add_domain("gmx.com", "1.17", 1615245)
        server.add_domain("outlook.com", "3.00", 0)
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, *, url=fake.url, key=KEY, **config) -> OtpGetEmailClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, **config) -> OtpGetEmailClient:
        provider = Provider.objects.create(
            slot=slot, protocol="otpget-email", base_url=url or fake.url, api_key=key, currency="PKR", config=config
        )
        return OtpGetEmailClient(provider)

    return make


@pytest.fixture
def client(make_client):
    return make_client()
