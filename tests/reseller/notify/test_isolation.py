"""A customer whose endpoint hangs delays nobody else: the delivery is a message on the `webhooks`
queue, taken by a real Celery worker (here in a thread, on the in-memory broker, not eager), so
the status sync that records another customer's code, and getStatus that shows it, never wait
for it; the other customer's own webhook is taken by another worker process meanwhile."""

import logging
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from reseller.activations.sync import provider_sync_statuses
from reseller.celery import app
from reseller.models import Activation, CustomerWebhook, WebhookDelivery
from tests.reseller.notify.receiver import Receiver
from upstream.models import SandboxActivation

pytestmark = pytest.mark.django_db(transaction=True)
HANG_SECONDS = 8.0


@pytest.fixture
def webhooks_worker():
    """A worker consuming only the webhooks queue, two threads (WEBHOOK_WORKER_CONCURRENCY)."""
    from celery.contrib.testing.worker import start_worker

    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]  # the worker's log set-up must not outlive it
    eager, hijack = app.conf.task_always_eager, app.conf.worker_hijack_root_logger
    app.conf.task_always_eager, app.conf.worker_hijack_root_logger = False, False
    try:
        with start_worker(
            app, pool="threads", concurrency=2, perform_ping_check=False, queues=[settings.QUEUE_WEBHOOKS]
        ) as worker:
            yield worker
    finally:
        app.conf.task_always_eager, app.conf.worker_hijack_root_logger = eager, hijack
        root.setLevel(level)
        root.handlers[:] = handlers
        connections.close_all()


def due_now(activation: Activation) -> None:
    SandboxActivation.objects.filter(pk=int(activation.upstream_id)).update(
        sms_due_at=timezone.now() - timedelta(seconds=1)
    )


def wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_hanging_receiver_does_not_delay_another_customers_code(sandbox, api, customer_with_key, webhooks_worker):
    slow_customer, slow_key = customer_with_key(balance="100")
    other_customer, other_key = customer_with_key(balance="100")
    with (
        override_settings(WEBHOOK_READ_TIMEOUT_SECONDS=HANG_SECONDS),
        Receiver(hang=True) as hanging,
        Receiver() as fine,
    ):
        CustomerWebhook.objects.create(customer=slow_customer, url=hanging.url, allow_private=True)
        CustomerWebhook.objects.create(customer=other_customer, url=fine.url, allow_private=True)
        slow = Activation.objects.get(pk=int(api(slow_key, "getNumber", service="tg", country="22").split(":")[1]))
        other = Activation.objects.get(pk=int(api(other_key, "getNumber", service="tg", country="22").split(":")[1]))

        due_now(slow)
        provider_sync_statuses(provider_id=sandbox.pk)
        assert wait_for(lambda: hanging.received, 5)  # the worker is now stuck on the slow customer
        hang_started = time.monotonic()

        due_now(other)
        started = time.monotonic()
        provider_sync_statuses(provider_id=sandbox.pk)
        status = api(other_key, "getStatus", id=other.pk)
        took = time.monotonic() - started
        other.refresh_from_db()
        assert status == f"STATUS_OK:{other.code}" and took < 2.0, took
        assert api(slow_key, "getStatus", id=slow.pk).startswith("STATUS_OK:")  # the slow one's code is there too

        # The other customer's webhook came while the slow one's still hangs.
        assert wait_for(lambda: fine.received, 5)
        assert time.monotonic() - hang_started < HANG_SECONDS
        outstanding = WebhookDelivery.objects.get(customer=slow_customer)
        assert (outstanding.state, outstanding.attempts, outstanding.last_error) == ("pending", 1, "")
        assert wait_for(lambda: WebhookDelivery.objects.filter(customer=other_customer, state="delivered").exists(), 5)

        # Then the slow try ends by its read timeout: a failed try, retried later, nothing lost.
        assert wait_for(lambda: WebhookDelivery.objects.get(customer=slow_customer).last_error != "", HANG_SECONDS + 5)
        outstanding.refresh_from_db()
        assert outstanding.state == "pending" and outstanding.attempts == 1
        assert outstanding.last_error == f"no answer within {HANG_SECONDS:g} s"
