from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import LedgerAccount
from billing.selectors import wallet_of
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from upstream.models import SandboxActivation
from upstream.services import catalogue_sync, provider_add

HANDLER = "/stubs/handler_api.php"


@pytest.fixture
def sandbox():
    """Slot 1: a sandbox upstream whose SMS only arrives when a test delivers it."""
    provider = provider_add(
        slot=1, protocol="sandbox", url="", api_key="", name="sandbox one", config={"sms_delay_seconds": 3600}
    )
    catalogue_sync(provider=provider)
    return provider


@pytest.fixture
def api(client: Client, django_capture_on_commit_callbacks):
    """Call handler_api.php; on-commit work (the forwarding tasks) runs as after a real commit."""

    def call(key: str, action: str, **params) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(HANDLER, {"api_key": key, "action": action, **params})
        assert response.status_code == 200
        return response.content.decode()

    return call


def deliver_sms(activation: Activation) -> None:
    """Make the sandbox's SMS due now, then run one status-sync cycle."""
    SandboxActivation.objects.filter(pk=int(activation.upstream_id)).update(
        sms_due_at=timezone.now() - timedelta(seconds=1)
    )
    provider_sync_statuses(provider_id=activation.provider_id)


def age(activation: Activation, seconds: int) -> None:
    """Pretend the activation was bought `seconds` ago."""
    past = timezone.now() - timedelta(seconds=seconds)
    Activation.objects.filter(pk=activation.pk).update(
        created_at=past, activated_at=past, expires_at=activation.expires_at - timedelta(seconds=seconds)
    )


def balance_of(customer) -> Decimal:
    wallet = wallet_of(customer)
    return wallet.balance - wallet.held


def account(code: str) -> Decimal:
    row = LedgerAccount.objects.filter(code=code).first()
    return row.balance if row else Decimal("0.00")
