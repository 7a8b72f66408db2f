"""A burst of 500 cancels does not hold up status sync or expiry.

The documented worker layout (docs/operations.md): one worker for the `urgent` queue, one for
`forward,slow`, and beat, as real processes on the RabbitMQ the tests are given (private
queues). The fake upstream takes 0.2 s per setStatus, so 500 forwards on two processes take
about 50 s. While they drain, an SMS that arrives upstream is applied and an activation past
its lifetime is expired within the bound (20 s), and the forward queue never holds more than
one message per activation (no duplicate enqueues).

On a single FIFO queue (every route pointed at one queue) the same test fails: the sync and
expiry messages wait behind the forwards.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.celery_procs import (
    activations_bought,
    activations_with_pending_cancel,
    celery_processes,
    given_broker_url,
    private_prefix,
    publisher,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)
BURST = 500
BOUND_SECONDS = 20


def test_cancel_burst_does_not_delay_sync_or_expiry(customer_with_key, tmp_path, monkeypatch):
    broker_url = given_broker_url()
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    customer, _ = customer_with_key(balance="5000.00")
    prefix = private_prefix()
    with FakeSmsActivate(api_key="k", balance=100_000) as fake:
        burst = activations_with_pending_cancel(fake, customer, BURST)
        waiting_sms, to_expire = activations_bought(fake, customer, 2)
        fake.delay(0.2, actions=["setStatus"])
        with celery_processes(
            broker_url,
            prefix,
            tmp_path,
            UPSTREAM_POLL_SECONDS="1",
            EXPIRE_SWEEP_SECONDS="2",
            FORWARD_SWEEP_SECONDS="5",
        ) as procs:
            procs.worker("urgent", queues=["urgent"], concurrency=1)
            procs.worker("bulk", queues=["forward", "slow"], concurrency=2)
            procs.beat()
            for name in ("urgent", "bulk"):
                wait_for(lambda name=name: "ready." in procs.log(name), 60, f"the {name} worker to start")

            # 500 customers cancel at once: setStatus publishes a forward after each commit.
            pub = publisher(broker_url, prefix, burst, rate=1000)
            out, _ = pub.communicate(timeout=120)
            assert out.count("ok ") == BURST
            depth_at_start = queued(procs)
            assert depth_at_start > BURST * 0.6, "the burst drained before the test could look"

            # Meanwhile an SMS arrives for one activation and another one's lifetime ends.
            fake.deliver_sms(Activation.objects.get(pk=waiting_sms).upstream_id, "424242")
            Activation.objects.filter(pk=to_expire).update(expires_at=timezone.now() - timedelta(seconds=1))
            started = time.monotonic()
            depths = [depth_at_start]

            def applied():
                depths.append(queued(procs))
                a = Activation.objects.get(pk=waiting_sms)
                return a.state == Activation.State.CODE_RECEIVED and a.code == "424242"

            wait_for(applied, BOUND_SECONDS, "the SMS to be applied by status sync", interval=0.5)
            sms_after = time.monotonic() - started
            wait_for(
                lambda: Activation.objects.get(pk=to_expire).state == Activation.State.EXPIRED,
                BOUND_SECONDS - sms_after,
                "the expired activation to be ended by the sweeper",
                interval=0.5,
            )
            expired_after = time.monotonic() - started
            pending_then = Activation.objects.filter(pk__in=burst, upstream_pending="cancel").count()
            # Watch a forward_pending sweep pass: it must not add copies of queued forwards.
            time.sleep(6)
            depths.append(queued(procs))

    print(
        f"\nburst of {BURST}: SMS applied after {sms_after:.1f} s, expiry after {expired_after:.1f} s; "
        f"messages queued: {depth_at_start} at the start, max {max(depths)}, {depths[-1]} at the end; "
        f"{pending_then} cancels still to forward then"
    )
    assert pending_then > BURST * 0.3, "the forwards drained first: nothing was shown"
    assert max(depths) <= BURST + 10, "forwards were enqueued twice"


def queued(procs) -> int:
    """Messages waiting in the three queues (delivered ones not counted)."""
    return sum(procs.queue_depth(q) for q in ("urgent", "forward", "slow"))
