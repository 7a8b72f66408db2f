"""Shared by the KopeechkaClient tests: the fake Kopeechka API and clients for provider rows."""

import json

import pytest

from tests.fakes.kopeechka import FakeKopeechka
from upstream.models import Provider
from upstream.providers.base import EmailRequest
from upstream.providers.kopeechka import KopeechkaClient

KEY = "kopeechka-SECRET-0123456789abcdef"
SITE = "instagram.com"
GMAIL = EmailRequest(domain="gmail.com", site=SITE)


def error(code: str) -> str:
    """A JSON ERROR reply."""
    return json.dumps({"status": "ERROR", "value": code})


@pytest.fixture
def fake():
    """Popular gmail.com (5 RUB, 3 in stock), outlook.com (4 RUB, 2), hotmail.com (3.50 RUB, none left);
    the service's own fastmailbox.net (1 RUB). Balance 100 RUB."""
    with FakeKopeechka(token=KEY, balance="100") as server:
        server.add_domain("gmail.com", "5", 3)
        server.add_domain("outlook.com", "4", 2)
        server.add_domain("hotmail.com", "3.50", 0)
        server.add_own_domain("fastmailbox.net", "1")
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, *, key=KEY, currency="RUB", url=fake.url, **config) -> KopeechkaClient for a new row."""

    def make(slot: int = 1, *, key: str = KEY, currency: str = "RUB", url: str | None = None, **config):
        provider = Provider.objects.create(
            slot=slot, protocol="kopeechka", base_url=url or fake.url, api_key=key, currency=currency, config=config
        )
        return KopeechkaClient(provider)

    return make


@pytest.fixture
def client(make_client):
    return make_client()
