"""An upstream's raw reply (an HTML page, an internal service's body) is never echoed in the
admin, in command output or to customers: a short summary is shown (the error class, a protocol
token as is, an HTTP status), and the body goes to the log only."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import Customer
from billing.models import Hold
from reseller.models import Activation, PurchaseAttempt
from tests.fakes.sms_activate import FakeSmsActivate
from upstream.providers.base import BadResponse, ProviderError, ProviderUnavailable, error_summary, safe_raw
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db
KEY = "up-key-0123456789"
MARKER = "INTERNAL-SECRET-7f3a9c"
PAGE = f"<!DOCTYPE html><html><body><h1>Jenkins</h1><p>build token {MARKER}</p></body></html>"


@pytest.fixture
def fake():
    with FakeSmsActivate(api_key=KEY) as server:
        server.set_offer(22, "tg", "12.50", 5)
        yield server


@pytest.fixture
def provider(fake):
    return provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key=KEY, currency="RUB", rate=Decimal("3"))


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def every_action(fake, body: str, status: int = 200) -> None:
    for action in ("getCountries", "getServicesList", "getPrices", "getBalance", "getNumberV2", "getNumber"):
        fake.next_response(action, body, status=status)


def sync_now(admin_client, provider) -> tuple[str, list[str]]:
    response = admin_client.post(
        reverse("admin:upstream_provider_changelist"),
        {"action": "sync_catalogue", "_selected_action": [provider.pk]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode(), [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize(
    ("body", "status", "shown"),
    [
        (PAGE, 200, "(BadResponse) BAD_RESPONSE"),  # a 200 that is not a protocol reply
        (PAGE, 500, "(BadResponse) HTTP 500"),  # an error page (the HTTP layer keeps an excerpt)
        (f'{{"status": "error", "message": "{MARKER}"}}', 200, "BAD_RESPONSE"),
        (f"BAD_KEY {MARKER}", 200, "BAD_RESPONSE"),  # a token followed by anything is not a token
    ],
)
def test_sync_catalogue_now_never_shows_the_body(admin_client, provider, fake, body, status, shown):
    every_action(fake, body, status)
    page, shown_messages = sync_now(admin_client, provider)
    assert MARKER not in page and not any(MARKER in m for m in shown_messages), shown_messages
    assert any(m.startswith("slot 1: sync failed") and shown in m for m in shown_messages), shown_messages
    assert "Jenkins" not in page and KEY not in page


def test_sync_catalogue_now_shows_protocol_tokens(admin_client, provider, fake):
    every_action(fake, "BAD_KEY")
    _, shown_messages = sync_now(admin_client, provider)
    assert any("(ProviderBadKey) BAD_KEY" in m for m in shown_messages), shown_messages


def test_catalogue_sync_command_never_prints_the_body(provider, fake, caplog):
    every_action(fake, PAGE, 502)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("catalogue_sync", stdout=out, stderr=err)
    assert MARKER not in out.getvalue() + err.getvalue()
    assert "slot 1: FAILED (BadResponse) HTTP 502" in err.getvalue()
    assert MARKER in caplog.text and KEY not in caplog.text  # the operator finds the body in the log


@pytest.mark.parametrize(("body", "status", "reply"), [(PAGE, 502, "HTTP 502"), (PAGE, 200, "BAD_RESPONSE")])
def test_purchase_with_a_foreign_reply_echoes_nothing(
    admin_client, provider, fake, customer_with_key, body, status, reply
):
    catalogue_sync(provider=provider)
    _, key = customer_with_key(balance="500.00")
    every_action(fake, body, status)
    answer = admin_client.get(
        "/stubs/handler_api.php", {"api_key": key, "action": "getNumber", "service": "tg", "country": "22"}
    )
    assert (answer.status_code, answer.content.decode()) == (200, f"ERROR_PROVIDER_1:{reply}")
    activation = Activation.objects.get()
    attempt = PurchaseAttempt.objects.get(order_kind="activation", order_pk=activation.pk)
    assert MARKER not in attempt.raw + activation.failure
    for url in (
        reverse("admin:reseller_activation_change", args=[activation.pk]),
        reverse("admin:reseller_activation_changelist"),
        reverse("admin:billing_hold_changelist"),
    ):
        page = admin_client.get(url)
        assert page.status_code == 200 and MARKER not in page.content.decode(), url
    assert all(MARKER not in h.release_reason for h in Hold.objects.all())


def test_a_refused_provider_reply_is_summarised_in_the_hold_and_attempt(provider, fake, customer_with_key, client):
    """A provider error that is not an unknown outcome (the chain goes on): its summary is kept."""
    catalogue_sync(provider=provider)
    _, key = customer_with_key(balance="500.00")
    fake.next_response("getNumberV2", "ERROR_SQL")
    answer = client.get(
        "/stubs/handler_api.php", {"api_key": key, "action": "getNumber", "service": "tg", "country": "22"}
    )
    assert answer.content == b"ERROR_PROVIDER_1:ERROR_SQL"  # tokens still reach the customer as before
    assert PurchaseAttempt.objects.get().raw == "ERROR_SQL"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("NO_NUMBERS", "NO_NUMBERS"),
        ("WRONG_MAX_PRICE:12.50", "WRONG_MAX_PRICE:12.50"),
        ("STATUS_WAIT_RETRY:123456", "STATUS_WAIT_RETRY:123456"),
        ("  ERROR_SQL\n", "ERROR_SQL"),
        ("HTTP 502: <html>secret</html>", "HTTP 502"),
        ("HTTP 302 redirect to http://10.0.0.1/admin", "HTTP 302"),
        ("<html>x</html>", "BAD_RESPONSE"),
        ('{"error": "x"}', "BAD_RESPONSE"),
        ("A" * 81, "BAD_RESPONSE"),
        ("no numbers", "BAD_RESPONSE"),
        ("", ""),
    ],
)
def test_safe_raw(raw, safe):
    assert safe_raw(raw) == safe


def test_error_summary():
    assert error_summary(BadResponse(raw=PAGE, message=f"x: {PAGE}")) == "BadResponse: BAD_RESPONSE"
    assert error_summary(ProviderUnavailable(message="GET http://h/?api_key=***: refused")) == (
        "ProviderUnavailable: GET http://h/?api_key=***: refused"
    )
    assert error_summary(ProviderError(message=PAGE)) == "ProviderError"
