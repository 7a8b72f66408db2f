"""Customer webhooks (docs/webhooks.md): each SMS of an activation or a rental is POSTed to the
customer's URL as SMS-Activate documents it, signed, retried, given up after 8 tries.

A delivery row is created in the transaction that records the SMS (`activation_sms_queued`,
`rental_sms_queued`), with an `event_key` naming the SMS that is unique: the SMS and its
delivery commit together or not at all, and a re-sync that sees the same SMS again adds nothing.
The message to send it is published after that commit (on the `webhooks` queue, so a slow or
dead customer endpoint only ever occupies the webhooks worker, never status sync or forwarding).

Each try first claims the row (one conditional UPDATE: due and pending, `next_try_at` moved a
lease ahead and the try counted), so two copies of the message never POST twice at once, and a
worker that dies mid-try leaves a row the sweeper finds again when the lease ends. The try runs
with no transaction open. Its result is written conditionally on the claim.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from reseller.models import Activation, CustomerWebhook, OrderKind, Rental, RentalSms, WebhookDelivery
from reseller.notify import http
from reseller.protocol.render import php_json

log = logging.getLogger(__name__)
State = WebhookDelivery.State
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # receivedAt, as the document shows it (TIME_ZONE, UTC)
LEASE_MARGIN_SECONDS = 30


def max_tries() -> int:
    return len(settings.WEBHOOK_RETRY_DELAYS) + 1


def lease_seconds() -> int:
    """How long a claimed try keeps its row from other copies: longer than any try can take."""
    return int(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS) + LEASE_MARGIN_SECONDS


def signature(secret: str, body: str) -> str:
    """X-Signature: `sha256=` and the hex HMAC-SHA256 of the exact body bytes with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def _received_at(moment) -> str:
    return timezone.localtime(moment).strftime(TIME_FORMAT) if moment else ""


def _body(*, order_id: int, service: str, text: str, code: str, country: int, received_at) -> str:
    return php_json(
        {
            "activationId": order_id,
            "service": service,
            "text": text,
            "code": code,
            "country": country,
            "receivedAt": _received_at(received_at),
        }
    )


def _hook_of(customer_id: int) -> CustomerWebhook | None:
    return CustomerWebhook.objects.filter(customer_id=customer_id).first()


def _create(*, customer_id: int, kind: str, order_pk: int, event_key: str, url: str, body: str) -> None:
    """Inside the caller's transaction: the row, then its message once that transaction commits."""
    delivery, created = WebhookDelivery.objects.get_or_create(
        event_key=event_key,
        defaults={
            "customer_id": customer_id,
            "order_kind": kind,
            "order_pk": order_pk,
            "url": url,
            "body": body,
            "next_try_at": timezone.now(),
        },
    )
    if created:
        transaction.on_commit(lambda: send_soon(delivery.pk))


def send_soon(delivery_id: int) -> bool:
    """Publish one try of the delivery now (unless one is already queued)."""
    from reseller.activations.enqueue import publish_once, queued_key
    from reseller.tasks import deliver_webhook

    return publish_once(deliver_webhook, queued_key("webhook", delivery_id), lease_seconds(), delivery_id)


def activation_sms_queued(*, activation: Activation) -> bool:
    """Called in the transaction that recorded a new code on `activation` (first SMS, or another
    after status 3). True when the customer has a webhook and a delivery was made. handler_api
    activations only: a cheap order's id is OTPGet's `ORD_...`, and OTPGet documents no webhook."""
    if activation.kind != OrderKind.ACTIVATION:  # cheap numbers (ORD_... ids) have no documented webhook
        return False
    hook = _hook_of(activation.customer_id)
    if hook is None or not hook.url:
        return False
    body = _body(
        order_id=activation.pk,
        service=activation.service.code,
        text=activation.sms_text,
        code=activation.code,
        country=activation.country_id,
        received_at=activation.sms_at,
    )
    key = f"{activation.kind}:{activation.pk}:{activation.sms_at.isoformat()}"
    _create(
        customer_id=activation.customer_id,
        kind=activation.kind,
        order_pk=activation.pk,
        event_key=key,
        url=hook.url,
        body=body,
    )
    return True


@dataclasses.dataclass(frozen=True)
class NewCode:
    """A code just recorded on an activation by the bulk status sync: what its webhook tells."""

    pk: int
    kind: str
    customer_id: int
    service: str
    country: int
    code: str
    text: str
    sms_at: object  # datetime


def activations_sms_queued(*, codes: list[NewCode]) -> int:
    """`activation_sms_queued` for many activations at once (the bulk status sync), in the
    transaction that recorded their codes: one read of the customers' webhooks, one INSERT of
    the deliveries (same event keys and bodies), their messages published after the commit.
    Returns how many deliveries were made. A delivery of an event key already made raises
    IntegrityError (the caller's batch then goes one by one, where get_or_create answers it)."""
    codes = [c for c in codes if c.kind == OrderKind.ACTIVATION]  # cheap orders: no documented webhook
    if not codes:
        return 0
    hooks = dict(
        CustomerWebhook.objects.filter(customer_id__in={c.customer_id for c in codes})
        .exclude(url="")
        .values_list("customer_id", "url")
    )
    now = timezone.now()
    rows = [
        WebhookDelivery(
            customer_id=c.customer_id,
            order_kind=c.kind,
            order_pk=c.pk,
            event_key=f"{c.kind}:{c.pk}:{c.sms_at.isoformat()}",
            url=hooks[c.customer_id],
            body=_body(
                order_id=c.pk, service=c.service, text=c.text, code=c.code, country=c.country, received_at=c.sms_at
            ),
            next_try_at=now,
        )
        for c in codes
        if c.customer_id in hooks
    ]
    if not rows:
        return 0
    ids = [row.pk for row in WebhookDelivery.objects.bulk_create(rows)]
    transaction.on_commit(lambda: [send_soon(pk) for pk in ids])
    return len(ids)


def rental_url(rental: Rental, hook: CustomerWebhook | None) -> str:
    """getRentNumber's `url` for this rental wins over the customer's webhook."""
    return rental.webhook_url or (hook.url if hook else "")


def rental_sms_queued(*, rental: Rental, messages: list[RentalSms]) -> int:
    """Called in the transaction that stored `messages` (new SMS of `rental`): one delivery each."""
    if not messages:
        return 0
    # The rental's own url needs no lookup; the secret that signs it is made at the first try.
    url = rental_url(rental, None if rental.webhook_url else _hook_of(rental.customer_id))
    if not url:
        return 0
    service = rental.service.code if rental.service_id else "full"
    for sms in messages:
        body = _body(
            order_id=rental.pk,
            service=service,
            text=sms.text,
            code=sms.code,
            country=rental.country_id,
            received_at=sms.received_at or sms.created_at,
        )
        key = f"rental-sms:{sms.pk}"
        _create(
            customer_id=rental.customer_id, kind=OrderKind.RENTAL, order_pk=rental.pk, event_key=key, url=url, body=body
        )
    return len(messages)


# --- sending -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tried:
    state: str  # the delivery's state after this try
    retry_in: float | None = None  # seconds to the next try, when there is one


def webhook_deliver(*, delivery_id: int) -> Tried | None:
    """One try of a due delivery; None when it is not due (delivered, given up, not yet time,
    or another copy holds it)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, state=State.PENDING, next_try_at__lte=now).update(
        next_try_at=now + timedelta(seconds=lease_seconds()), attempts=F("attempts") + 1, last_try_at=now
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    hook, _ = CustomerWebhook.objects.get_or_create(customer_id=delivery.customer_id)
    headers = {
        "X-Delivery-Id": str(delivery.uid),
        "X-Delivery-Attempt": str(delivery.attempts),
        "X-Signature": signature(hook.secret, delivery.body),
    }
    outcome = http.post(delivery.url, delivery.body, headers, allow_private=hook.allow_private)
    done = timezone.now()
    mine = WebhookDelivery.objects.filter(pk=delivery.pk, state=State.PENDING, attempts=delivery.attempts)
    if outcome.delivered:
        mine.update(state=State.DELIVERED, delivered_at=done, next_try_at=None, last_status=200, last_error="")
        return Tried(State.DELIVERED)
    delays = settings.WEBHOOK_RETRY_DELAYS
    delay = delays[delivery.attempts - 1] if delivery.attempts <= len(delays) else None
    deadline = delivery.window_from + timedelta(seconds=settings.WEBHOOK_GIVE_UP_SECONDS)
    if delay is None or done + timedelta(seconds=delay) > deadline:
        mine.update(state=State.GIVEN_UP, next_try_at=None, last_status=outcome.status, last_error=outcome.error)
        log.warning("webhook %s given up after %d tries: %s", delivery.uid, delivery.attempts, outcome.error)
        return Tried(State.GIVEN_UP)
    mine.update(next_try_at=done + timedelta(seconds=delay), last_status=outcome.status, last_error=outcome.error)
    log.info("webhook %s try %d failed (%s), next in %d s", delivery.uid, delivery.attempts, outcome.error, delay)
    return Tried(State.PENDING, retry_in=delay)


def webhooks_due(*, limit: int = 500) -> list[int]:
    """Pending deliveries whose try is due: their message may have been lost, or their retry was
    too far ahead for a countdown (WEBHOOK_MAX_COUNTDOWN_SECONDS)."""
    rows = WebhookDelivery.objects.filter(state=State.PENDING, next_try_at__lte=timezone.now())
    return list(rows.order_by("next_try_at").values_list("pk", flat=True)[:limit])


def webhook_retry(*, delivery: WebhookDelivery) -> bool:
    """An admin's retry: a delivery given up (or pending) starts its 8 tries again now, to the
    URL in force now (the rental's own, else the customer's). False if it was delivered."""
    hook = _hook_of(delivery.customer_id)
    url = delivery.url
    if delivery.order_kind == OrderKind.RENTAL:
        rental = Rental.objects.filter(pk=delivery.order_pk).first()
        url = (rental_url(rental, hook) if rental else "") or url
    elif hook and hook.url:
        url = hook.url
    with transaction.atomic():
        in_flight = Q(state=State.PENDING, last_try_at__gt=timezone.now() - timedelta(seconds=lease_seconds()))
        changed = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(state=State.DELIVERED)
            .exclude(in_flight)  # a try running now would POST it twice
            .update(
                state=State.PENDING,
                attempts=0,
                url=url,
                next_try_at=timezone.now(),
                window_from=timezone.now(),  # the 2-hour window starts again
                last_error="",
            )
        )
        if changed:
            transaction.on_commit(lambda: send_soon(delivery.pk))
    return bool(changed)
