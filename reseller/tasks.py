"""Celery tasks of the activation lifecycle. Thin: ids in, one service call.

All are idempotent (their services re-read state and change it conditionally),
so they run with acks_late + reject_on_worker_lost: a worker killed mid-task
gets its task redelivered, and the periodic sweepers find anything left over.

Fan-out tasks are sent at most once at a time per provider or activation
(`enqueue.publish_once`): a sweep that finds the previous message still queued
or running sends no second one, so a slow queue does not snowball. Queues:
CELERY_TASK_ROUTES in settings.
"""

import logging

from celery import shared_task
from django.conf import settings

from reseller.activations import reconcile, sync
from reseller.activations.enqueue import publish_once, queued_clear, queued_key, queued_mark
from reseller.activations.lifecycle import activations_expire_due

log = logging.getLogger(__name__)
IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}


def sync_queued_ttl() -> int:
    """A provider's status sync counts as queued for a few poll intervals at most."""
    return max(3 * settings.UPSTREAM_POLL_SECONDS, 15)


RECONCILE_QUEUED_TTL = 300  # five reconcile intervals
CHECK_QUEUED_TTL = 60  # webhook hints for one activation within a minute: one check


@shared_task(name="reseller.sync_statuses", **IDEMPOTENT)
def sync_statuses() -> int:
    """Beat, every UPSTREAM_POLL_SECONDS: one batched sync task per provider with live activations."""
    sent = 0
    for provider_id in sync.providers_to_sync():
        sent += publish_once(sync_provider_statuses, queued_key("sync", provider_id), sync_queued_ttl(), provider_id)
    return sent


@shared_task(name="reseller.sync_provider_statuses", ignore_result=True, **IDEMPOTENT)
def sync_provider_statuses(provider_id: int) -> int:
    try:
        return sync.provider_sync_statuses(provider_id=provider_id)
    finally:
        queued_clear(queued_key("sync", provider_id))


@shared_task(name="reseller.check_activation", **IDEMPOTENT)
def check_activation(activation_id: int) -> str:
    """A webhook's hint: ask the upstream about this activation now."""
    try:
        return sync.activation_check_now(activation_id=activation_id)
    finally:
        queued_clear(queued_key("check", activation_id))


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
    then the forward_pending sweeper takes over. Its queued mark lives until it is done:
    through every retry, cleared at the end."""
    key, ttl = forward_queued_mark(activation_id)
    retrying = False
    try:
        return sync.activation_forward_upstream(activation_id=activation_id)
    except sync.ForwardLater:
        retrying = self.request.retries < self.max_retries
        raise
    finally:
        if retrying:  # the retry is the queued copy now
            queued_mark(key, ttl, replace=True)
        else:
            queued_clear(key)


def forward_queued_mark(activation_id: int) -> tuple[str, int]:
    """The (key, ttl) of an activation's queued forward."""
    return queued_key("forward", activation_id), settings.FORWARD_QUEUED_TTL_SECONDS


@shared_task(name="reseller.forward_pending", **IDEMPOTENT)
def forward_pending() -> int:
    """Beat: send the pending setStatus marks whose forward is not queued or running already."""
    sent = 0
    for activation_id in sync.activations_pending_forward():
        sent += publish_once(forward_status, *forward_queued_mark(activation_id), activation_id)
    return sent


@shared_task(name="reseller.reconcile_unknown", **IDEMPOTENT)
def reconcile_unknown() -> int:
    sent = 0
    for provider_id in reconcile.providers_to_reconcile():
        key = queued_key("reconcile", provider_id)
        sent += publish_once(reconcile_provider, key, RECONCILE_QUEUED_TTL, provider_id)
    return sent


@shared_task(name="reseller.reconcile_provider", **IDEMPOTENT)
def reconcile_provider(provider_id: int) -> dict:
    try:
        return reconcile.provider_reconcile(provider_id=provider_id)
    finally:
        queued_clear(queued_key("reconcile", provider_id))


# --- rentals (reseller.rentals.lifecycle) ---------------------------------------------------------


@shared_task(name="reseller.sync_rentals", **IDEMPOTENT)
def sync_rentals() -> int:
    """Beat: one rental status task per provider with active rentals."""
    from reseller.rentals.lifecycle import providers_with_rentals, rentals_pending_forward

    sent = 0
    for provider_id in providers_with_rentals():
        key = queued_key("rentals", provider_id)
        sent += publish_once(sync_provider_rentals, key, sync_queued_ttl(), provider_id)
    for rental_id in rentals_pending_forward():  # finishes whose message was lost
        sent += publish_once(forward_rental_status, queued_key("rental-forward", rental_id), 300, rental_id)
    return sent


@shared_task(name="reseller.sync_provider_rentals", ignore_result=True, **IDEMPOTENT)
def sync_provider_rentals(provider_id: int) -> int:
    from reseller.rentals.lifecycle import rentals_sync

    try:
        return rentals_sync(provider_id=provider_id)
    finally:
        queued_clear(queued_key("rentals", provider_id))


@shared_task(name="reseller.expire_rentals", **IDEMPOTENT)
def expire_rentals() -> int:
    from reseller.rentals.lifecycle import rentals_expire_due

    return rentals_expire_due()


@shared_task(name="reseller.forward_rental_status", **IDEMPOTENT)
def forward_rental_status(rental_id: int) -> str:
    from reseller.rentals.lifecycle import rental_forward_upstream

    try:
        return rental_forward_upstream(rental_id=rental_id)
    finally:
        queued_clear(queued_key("rental-forward", rental_id))


@shared_task(name="reseller.reconcile_rentals", **IDEMPOTENT)
def reconcile_rentals() -> int:
    from reseller.rentals.lifecycle import rentals_reconcile

    return rentals_reconcile()


# --- e-mails (reseller.emails.lifecycle) ----------------------------------------------------------


@shared_task(name="reseller.sync_emails", **IDEMPOTENT)
def sync_emails() -> int:
    """Beat: one letter task per provider with waiting e-mail orders, and the cancels of expired
    ones whose message was lost."""
    from reseller.emails.lifecycle import emails_pending_cancel, providers_with_emails

    sent = 0
    for provider_id in providers_with_emails():
        sent += publish_once(sync_provider_emails, queued_key("emails", provider_id), sync_queued_ttl(), provider_id)
    for order_id in emails_pending_cancel():
        sent += publish_once(forward_email_cancel, queued_key("email-cancel", order_id), 300, order_id)
    return sent


@shared_task(name="reseller.sync_provider_emails", ignore_result=True, **IDEMPOTENT)
def sync_provider_emails(provider_id: int) -> int:
    from reseller.emails.lifecycle import emails_sync

    try:
        return emails_sync(provider_id=provider_id)
    finally:
        queued_clear(queued_key("emails", provider_id))


@shared_task(name="reseller.expire_emails", **IDEMPOTENT)
def expire_emails() -> int:
    from reseller.emails.lifecycle import emails_expire_due

    return emails_expire_due()


@shared_task(name="reseller.forward_email_cancel", **IDEMPOTENT)
def forward_email_cancel(order_id: int) -> str:
    from reseller.emails.lifecycle import email_forward_cancel

    try:
        return email_forward_cancel(order_id=order_id)
    finally:
        queued_clear(queued_key("email-cancel", order_id))


@shared_task(name="reseller.reconcile_emails", **IDEMPOTENT)
def reconcile_emails() -> int:
    from reseller.emails.lifecycle import emails_reconcile

    return emails_reconcile()


# --- customer webhooks (reseller.notify.deliveries) -----------------------------------------------


def _webhook_time_limit() -> int:
    return int(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS) + 15


@shared_task(
    name="reseller.deliver_webhook",
    soft_time_limit=_webhook_time_limit(),
    time_limit=_webhook_time_limit() + 10,
    **IDEMPOTENT,
)
def deliver_webhook(delivery_id: int) -> str:
    """One try of a customer webhook. A retry due within WEBHOOK_MAX_COUNTDOWN_SECONDS is sent
    with a countdown (no worker waits for it); a later one is left to the sweeper, which finds it
    due in the database. The queued mark lives until the next try is sent or the delivery ends."""
    from reseller.notify.deliveries import lease_seconds, webhook_deliver

    key = queued_key("webhook", delivery_id)
    tried = None
    try:
        tried = webhook_deliver(delivery_id=delivery_id)
        return tried.state if tried else "not due"
    finally:
        if tried and tried.retry_in is not None and tried.retry_in <= settings.WEBHOOK_MAX_COUNTDOWN_SECONDS:
            ttl = int(tried.retry_in) + lease_seconds()
            publish_once(deliver_webhook, key, ttl, delivery_id, replace=True, countdown=tried.retry_in)
        else:
            queued_clear(key)


@shared_task(name="reseller.sweep_webhooks", **IDEMPOTENT)
def sweep_webhooks() -> int:
    """Beat, every WEBHOOK_SWEEP_SECONDS: send the due deliveries that have no message queued."""
    from reseller.notify.deliveries import send_soon, webhooks_due

    return sum(send_soon(delivery_id) for delivery_id in webhooks_due())
