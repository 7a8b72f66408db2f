"""Celery tasks of the activation lifecycle. Thin: ids in, one service call.

All are idempotent (their services re-read state and change it conditionally),
so they run with acks_late + reject_on_worker_lost: a worker killed mid-task
gets its task redelivered, and the periodic sweepers find anything left over.
"""

import logging

from celery import shared_task
from django.conf import settings

from reseller.activations import reconcile, sync
from reseller.activations.lifecycle import activations_expire_due

log = logging.getLogger(__name__)
IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="reseller.sync_statuses", **IDEMPOTENT)
def sync_statuses() -> int:
    """Beat, every UPSTREAM_POLL_SECONDS: one batched sync task per provider with live activations."""
    providers = sync.providers_to_sync()
    for provider_id in providers:
        sync_provider_statuses.delay(provider_id)
    return len(providers)


@shared_task(name="reseller.sync_provider_statuses", ignore_result=True, **IDEMPOTENT)
def sync_provider_statuses(provider_id: int) -> int:
    return sync.provider_sync_statuses(provider_id=provider_id)


@shared_task(name="reseller.check_activation", **IDEMPOTENT)
def check_activation(activation_id: int) -> str:
    """A webhook's hint: ask the upstream about this activation now."""
    return sync.activation_check_now(activation_id=activation_id)


@shared_task(name="reseller.expire_activations", **IDEMPOTENT)
def expire_activations() -> int:
    return activations_expire_due()


@shared_task(
    name="reseller.forward_status",
    bind=True,
    max_retries=settings.UPSTREAM_FORWARD_MAX_RETRIES,
    autoretry_for=(sync.ForwardLater,),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    **IDEMPOTENT,
)
def forward_status(self, activation_id: int) -> str:
    """Send the customer's setStatus upstream; UPSTREAM_FORWARD_MAX_RETRIES retries with backoff,
    then the forward_pending sweeper takes over."""
    return sync.activation_forward_upstream(activation_id=activation_id)


@shared_task(name="reseller.forward_pending", **IDEMPOTENT)
def forward_pending() -> int:
    ids = sync.activations_pending_forward()
    for activation_id in ids:
        forward_status.apply_async((activation_id,), retry=False)
    return len(ids)


@shared_task(name="reseller.reconcile_unknown", **IDEMPOTENT)
def reconcile_unknown() -> int:
    providers = reconcile.providers_to_reconcile()
    for provider_id in providers:
        reconcile_provider.delay(provider_id)
    return len(providers)


@shared_task(name="reseller.reconcile_provider", **IDEMPOTENT)
def reconcile_provider(provider_id: int) -> dict:
    return reconcile.provider_reconcile(provider_id=provider_id)
