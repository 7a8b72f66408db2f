"""Provider URLs: http(s) only, a host, no credentials, and a public destination unless
UPSTREAM_ALLOW_PRIVATE_URLS=1, checked when saved (provider_add, the command, the admin) and
again when connecting (a name can resolve differently later; old rows are not trusted)."""

import ipaddress
import re
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from accounts.models import Customer
from tests.fakes.sms_activate import FakeSmsActivate
from tests.subprocess_env import production_env
from upstream.destinations import RefusedDestination, address_refusal, url_check
from upstream.models import Provider
from upstream.providers import client_for
from upstream.providers.base import ProviderUnavailable
from upstream.services import InvalidProvider, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
KEY = "up-key-0123456789"
strict = override_settings(UPSTREAM_ALLOW_PRIVATE_URLS=False)

REFUSED_ALWAYS = [
    ("file:///etc/passwd", "not an http(s) URL"),
    ("ftp://example.com/x", "not an http(s) URL"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "not an http(s) URL"),
    ("javascript:alert(1)", "not an http(s) URL"),
    ("junk", "not an http(s) URL"),
    ("http://", "names no host"),
    ("http:///stubs/handler_api.php", "names no host"),
    ("http://user:pw@example.com/x", "must not contain credentials"),
    ("http://example.com@127.0.0.1/x", "must not contain credentials"),
    ("http://example.com:99999/x", "not a valid URL"),
    ("http://[::1/x", "not a valid URL"),
    ("http://exa mple.com/x", "spaces or control characters"),
    ("http://example.com/x\r\nHost: evil", "spaces or control characters"),
    ("http://example.com/" + "a" * 600, "longer than 500"),
]

REFUSED_PRIVATE = [
    ("http://127.0.0.1:8000/stubs/handler_api.php", "loopback"),
    ("http://localhost:8000/stubs/handler_api.php", "localhost (127.0.0.1) is a loopback"),
    ("http://127.1/x", "loopback"),  # resolver shorthand for 127.0.0.1
    ("http://2130706433/x", "loopback"),  # 127.0.0.1 as one number
    ("http://0x7f000001/x", "loopback"),
    ("http://10.0.0.5/x", "private"),
    ("http://172.16.1.1/x", "private"),
    ("http://192.168.1.1/x", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
    ("http://100.64.0.1/x", "not public"),
    ("http://0.0.0.0/x", "unspecified"),
    ("http://224.0.0.1/x", "multicast"),
    ("http://240.0.0.1/x", "reserved"),
    ("http://255.255.255.255/x", "reserved"),
    ("http://[::1]/x", "loopback"),
    ("http://[::]/x", "unspecified"),
    ("http://[fe80::1]/x", "link-local"),
    ("http://[fc00::1]/x", "private"),
    ("http://[ff02::1]/x", "multicast"),
    ("http://[::ffff:127.0.0.1]/x", "loopback (IPv4 127.0.0.1 inside IPv6)"),
    ("http://[::ffff:a9fe:a9fe]/x", "link-local (IPv4 169.254.169.254 inside IPv6)"),
    ("http://[64:ff9b::a9fe:a9fe]/x", "link-local (IPv4 169.254.169.254 inside IPv6)"),  # NAT64
    ("http://[2002:7f00:1::]/x", "loopback (IPv4 127.0.0.1 inside IPv6)"),  # 6to4
    ("http://no-such-host.invalid/x", "does not resolve"),
]


@strict
@pytest.mark.parametrize(("url", "message"), REFUSED_ALWAYS + REFUSED_PRIVATE)
def test_url_check_refuses(url, message):
    with pytest.raises(RefusedDestination, match=re.escape(message)) as caught:
        url_check(url)
    assert len(str(caught.value)) < 300


@strict
@pytest.mark.parametrize(
    "url", ["https://8.8.8.8/stubs/handler_api.php", "http://[2001:4860:4860::8888]:8080/x", " https://1.1.1.1/x "]
)
def test_url_check_accepts_public_addresses(url):
    assert url_check(url) == url.strip()


@override_settings(UPSTREAM_ALLOW_PRIVATE_URLS=True)
@pytest.mark.parametrize(("url", "message"), REFUSED_ALWAYS)
def test_the_setting_allows_private_destinations_but_never_bad_urls(url, message):
    assert url_check("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"
    assert url_check("http://localhost/x") == "http://localhost/x"
    with pytest.raises(RefusedDestination, match=re.escape(message)):
        url_check(url)


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("192.88.99.1", None),
        ("198.18.0.1", "private"),
        ("192.0.2.1", "private"),
        ("2001:db8::1", "private"),
        ("::ffff:0.0.0.0", "unspecified (IPv4 0.0.0.0 inside IPv6)"),
    ],
)
def test_address_refusal(address, refused):
    assert address_refusal(ipaddress.ip_address(address)) == refused


# --- when saved ------------------------------------------------------------------------------------


@strict
@pytest.mark.parametrize(("url", "message"), [REFUSED_ALWAYS[0], REFUSED_ALWAYS[7], *REFUSED_PRIVATE[:3]])
def test_provider_add_refuses_with_a_clear_message(url, message):
    with pytest.raises(InvalidProvider, match="provider URL refused: .*" + re.escape(message)):
        provider_add(slot=2, protocol="smsactivate", url=url, api_key=KEY)
    assert not Provider.objects.exists()


@strict
def test_provider_add_command_refuses_without_traceback():
    out = StringIO()
    with pytest.raises(CommandError, match="provider URL refused: 169.254.169.254 is a link-local address"):
        call_command(
            "provider_add",
            "--slot",
            "2",
            "--protocol",
            "smsactivate",
            "--url",
            "http://169.254.169.254/x",
            "--api-key",
            KEY,
            stdout=out,
        )
    assert not Provider.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_provider_add_command_in_production_refuses_loopback_in_one_line():
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "provider_add",
            "--slot",
            "3",
            "--protocol",
            "smsactivate",
            "--url",
            "http://localhost:9/stubs/handler_api.php",
            "--api-key",
            KEY,
        ],
        cwd=ROOT,
        env=production_env(UPSTREAM_ALLOW_PRIVATE_URLS="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done
    assert (
        done.stderr.strip()
        == (
            "CommandError: provider URL refused: localhost (127.0.0.1) is a loopback address"
            " (UPSTREAM_ALLOW_PRIVATE_URLS is off)"
        )
        or "localhost (::1) is a loopback" in done.stderr
    ), done.stderr
    assert "Traceback" not in done.stderr
    assert not Provider.objects.exists()


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def add_form(**overrides) -> dict:
    return {
        "slot": 2,
        "name": "",
        "protocol": "smsactivate",
        "base_url": "https://8.8.8.8/stubs/handler_api.php",
        "api_key": KEY,
        "currency": "RUB",
        "rate_to_pkr": "3.5",
        "enabled": "on",
        "priority": 0,
        "config": "{}",
        **overrides,
    }


@strict
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "not an http(s) URL"),
        ("http://localhost:8000/x", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://a:b@8.8.8.8/", "credentials"),
    ],
)
def test_admin_form_refuses(admin_client, url, message):
    response = admin_client.post(reverse("admin:upstream_provider_add"), add_form(base_url=url))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["base_url"] and message in errors["base_url"][0], errors
    assert not Provider.objects.exists()


@strict
def test_admin_form_accepts_a_public_url_and_refuses_changing_it_to_a_private_one(admin_client):
    assert admin_client.post(reverse("admin:upstream_provider_add"), add_form()).status_code == 302
    provider = Provider.objects.get(slot=2)
    change = reverse("admin:upstream_provider_change", args=[provider.pk])
    response = admin_client.post(change, add_form(base_url="http://192.168.0.10/stubs/handler_api.php"))
    assert "base_url" in response.context["adminform"].form.errors
    provider.refresh_from_db()
    assert provider.base_url == "https://8.8.8.8/stubs/handler_api.php"


# --- when connecting -------------------------------------------------------------------------------


@pytest.fixture
def fake():
    with FakeSmsActivate(api_key=KEY) as server:
        server.set_offer(22, "tg", "12.50", 5)
        yield server


def localhost_provider(fake) -> Provider:
    """Saved while private URLs were allowed (the suite's setting): `localhost` -> 127.0.0.1."""
    return provider_add(
        slot=1,
        protocol="smsactivate",
        url=fake.url.replace("127.0.0.1", "localhost"),
        api_key=KEY,
        currency="RUB",
        rate=Decimal("3"),
    )


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(fake):
    provider = localhost_provider(fake)
    with strict, pytest.raises(ProviderUnavailable) as caught:
        client_for(provider).balance()
    assert "localhost" in str(caught.value) and "loopback address" in str(caught.value)
    assert KEY not in str(caught.value)
    assert fake.calls == []  # nothing was sent
    # The same row with the setting on (a chain to a server on the operator's own network): it works.
    assert client_for(provider).balance() == fake.balance


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/stubs/handler_api.php",
        "http://[::ffff:127.0.0.1]:{port}/stubs/handler_api.php",
        "file:///etc/passwd",
        "http://u:p@127.0.0.1:{port}/stubs/handler_api.php",
    ],
)
def test_rows_saved_before_the_rule_are_refused_when_called(fake, url):
    """Existing rows are not migrated: the HTTP layer refuses them (ProviderUnavailable, nothing sent)."""
    provider = localhost_provider(fake)
    Provider.objects.filter(pk=provider.pk).update(base_url=url.format(port=fake.port))
    provider.refresh_from_db()
    with strict, pytest.raises(ProviderUnavailable):
        client_for(provider).balance()
    assert fake.calls == []


@strict
def test_a_refused_upstream_is_routed_around_and_customers_get_tokens(fake, customer_with_key, client):
    """Through the protocol: the provider is unavailable (nothing bought), the answer a token."""
    with override_settings(UPSTREAM_ALLOW_PRIVATE_URLS=True):
        provider = localhost_provider(fake)
        catalogue_sync(provider=provider)
    _, key = customer_with_key(balance="500.00")
    response = client.get(
        "/stubs/handler_api.php", {"api_key": key, "action": "getNumber", "service": "tg", "country": "22"}
    )
    assert response.status_code == 200
    assert response.content == b"ERROR_PROVIDER_1:ERROR"  # the reply for an unreachable last provider
    assert [action for action in fake.actions() if action.startswith("getNumber")] == []
