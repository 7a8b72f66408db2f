"""KopeechkaClient: e-mail only, garbage, HTTP errors, timeouts, an unreachable upstream, the config
and provider_add."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.upstream.kopeechka.conftest import GMAIL, KEY, error
from upstream.models import Provider
from upstream.providers.base import (
    BadResponse,
    ProviderTimeout,
    ProviderUnavailable,
    SetStatus,
    Unsupported,
    client_for,
)
from upstream.providers.kopeechka import KopeechkaClient, config_check

pytestmark = pytest.mark.django_db


# --- no activations ----------------------------------------------------------------------------------


def test_email_only(fake, client):
    for call in (
        lambda: client.buy(None),
        lambda: client.status("1"),
        lambda: client.set_status("1", SetStatus.CANCEL),
    ):
        with pytest.raises(Unsupported):
            call()
    assert (client.countries(), client.services(), client.prices()) == ([], [], [])
    assert client.supports_email is True and client.supports_rent is False and client.supports_active_list is False
    assert fake.calls == []


# --- garbage, transport, config ----------------------------------------------------------------------

CALLS = {
    "user-balance": lambda c: c.balance(),
    "mailbox-zones": lambda c: c.email_prices(),
    "mailbox-get-email": lambda c: c.email_buy(GMAIL),
    "mailbox-get-message": lambda c: c.email_status("1"),
}
GARBAGE = [
    "<html>502 Bad Gateway</html>",
    "",
    "not json",
    "OK|100.000000",  # a TEXT success: we asked for JSON
    '{"status":"ok","balance":1}',
    '{"status":"ERROR"}',
    '{"status":"ERROR","value":""}',
    '{"value":"WAIT_LINK"}',
    '["OK"]',
]


@pytest.mark.parametrize("method", CALLS)
@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_is_bad_response(fake, client, method, body):
    fake.next_response(method, body)
    with pytest.raises(BadResponse):
        CALLS[method](client)


@pytest.mark.parametrize("status", [500, 502, 404, 301])
def test_http_errors_are_bad_response(fake, client, status):
    fake.next_response("mailbox-get-email", error("OUT_OF_STOCK"), status=status, headers={"Location": "/x"})
    with pytest.raises(BadResponse):
        client.email_buy(GMAIL)


def test_an_unknown_path_is_bad_response(fake, make_client):
    with pytest.raises(BadResponse, match="404"):
        make_client(url=fake.url + "/api").balance()


def test_timeouts_and_dropped_connections(fake, make_client):
    client = make_client(timeout_seconds=0.3)
    fake.delay(0.8, "mailbox-get-email")
    with pytest.raises(ProviderTimeout):
        client.email_buy(GMAIL)
    fake.delay(0)
    fake.next_disconnect("mailbox-cancel")
    with pytest.raises(ProviderTimeout):
        client.email_cancel(client.email_buy(GMAIL).upstream_id)


def test_an_unreachable_upstream_is_unavailable(fake, make_client):
    port = fake.port
    fake.stop()
    with pytest.raises(ProviderUnavailable):
        make_client(url=f"http://127.0.0.1:{port}").balance()


@pytest.mark.parametrize(
    "config",
    [
        {"default_site": ""},
        {"default_site": "two words"},
        {"default_site": 5},
        {"regex": ["x"]},
        {"soft": True},
        {"zones": "yes"},
        {"zones_count": -1},
        {"zones_count": "10"},
        {"zones_count": True},
    ],
)
def test_a_bad_config_is_refused_before_sending(fake, make_client, config):
    with pytest.raises(ProviderUnavailable):
        config_check(config)
    with pytest.raises(ProviderUnavailable):
        make_client(**config).balance()
    assert fake.calls == []


def test_provider_add_and_client_for(fake):
    out = StringIO()
    call_command(
        "provider_add", "--slot", "5", "--protocol", "kopeechka", "--url", fake.url, "--api-key", KEY,
        "--currency", "RUB", "--config", '{"default_site": "instagram.com", "zones": true}', stdout=out,
    )  # fmt: skip
    provider = Provider.objects.get(slot=5)
    client = client_for(provider)
    assert isinstance(client, KopeechkaClient) and client.balance() == Decimal("100")
    assert ("kopeechka", "Kopeechka-style e-mail activations (api 2.0)") in Provider.Protocol.choices


@pytest.mark.parametrize("config", ['{"zones_count": -5}', '{"default_site": ""}', '{"zones": 1}'])
def test_provider_add_refuses_a_config_the_client_would_refuse(fake, config):
    with pytest.raises(CommandError):
        call_command(
            "provider_add", "--slot", "5", "--protocol", "kopeechka", "--url", fake.url, "--api-key", KEY,
            "--config", config, stdout=StringIO(),
        )  # fmt: skip
    assert not Provider.objects.filter(slot=5).exists()
