"""What the e-mail tests share: two sandbox upstreams behind email_handler.php's Server 1 and
Server 2 (their e-mail catalogue synced), a caller of the endpoint (GET, POST with a form body,
POST with the query string only), buying through the service layer, and moving a sandbox letter
or an order's clock instead of sleeping."""

from datetime import UTC, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from billing.markup import markup_set
from billing.selectors import wallet_of
from reseller.emails.lifecycle import emails_sync
from reseller.emails.purchase import EmailPurchaseRequest, email_purchase
from reseller.emails.servers import email_server_set
from reseller.models import EmailOrder
from upstream.models import EmailService, Provider, SandboxEmail
from upstream.services import catalogue_sync, email_services_seed

PATH = "/stubs/email_handler.php"
METHODS = ["get", "post_form", "post_query"]
NO_LETTER = {"email_letter_delay_seconds": 3600}  # a letter only when a test makes it due


def send(client, method: str, params: dict):
    if method == "get":
        return client.get(PATH, params)
    if method == "post_form":
        return client.post(PATH, params)
    return client.post(f"{PATH}?{urlencode(params)}", data="", content_type="application/x-www-form-urlencoded")


@pytest.fixture
def mail_servers():
    """Server 1: sandbox slot 1; Server 2: sandbox slot 2; letters only when made due; +10 %
    generally, +20 % on e-mails."""
    email_services_seed()  # a transaction test's flush removed the migration's rows
    one = Provider.objects.create(slot=1, protocol="sandbox", name="one", config=NO_LETTER)
    two = Provider.objects.create(slot=2, protocol="sandbox", name="two", config=NO_LETTER)
    for provider in (one, two):
        catalogue_sync(provider=provider)
    markup_set(scope="global", percent="10")
    markup_set(scope="global", percent="20", product="email")
    email_server_set(server=1, provider=one)
    email_server_set(server=2, provider=two)
    return one, two


@pytest.fixture
def eh(client, django_capture_on_commit_callbacks):
    """eh(key, action, method="get", **params) -> the response (on-commit work runs)."""

    def call(key: str, action: str, method: str = "get", **params):
        with django_capture_on_commit_callbacks(execute=True):
            return send(client, method, {"api_key": key, "action": action, **params})

    return call


def buy(customer, *, server: int = 1, service: str | None = "ig", domain: str = "gmail.com", site: str = ""):
    return email_purchase(
        EmailPurchaseRequest(
            customer_id=customer.pk,
            wallet_id=wallet_of(customer).pk,
            server=server,
            domain=domain,
            service=EmailService.objects.get(code=service) if service else None,
            site=site,
        )
    )


def utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def letter_due(order: EmailOrder) -> None:
    """Make the sandbox's letter for this order due now."""
    SandboxEmail.objects.filter(pk=int(order.upstream_id)).update(letter_due_at=timezone.now() - timedelta(seconds=1))


def deliver(order: EmailOrder) -> None:
    """The sandbox's letter arrives and one letter-sync cycle runs."""
    letter_due(order)
    emails_sync(provider_id=order.provider_id)
    order.refresh_from_db()


def expire(order: EmailOrder) -> None:
    """Our side of the order is past its lifetime (the upstream's not)."""
    EmailOrder.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order.refresh_from_db()
