"""The broker goes away for 15 s under load and comes back: a real worker and a real beat,
connected through a TcpProxy in front of the broker (the shared server is never stopped),
process again by themselves, without a restart, and nothing is lost.

Load: 100 customers' cancels waiting to be forwarded; a web-like process publishes their
forward_status at 4/s (as setStatus does after its commit) while the worker forwards them to a
fake upstream. Publishes during the outage fail fast (bounded retry, then a pause) and are left
to the forward_pending sweeper (beat, every 5 s here), as in production.

RabbitMQ (the production broker) always runs. The same scenario on a Redis broker runs only
with REDIS_BROKER_OUTAGE=1 (docs/operations.md says how it fares; the suite does not depend on it).
"""

import os
import re
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.fakes.tcp_proxy import TcpProxy
from tests.reseller.celery_procs import (
    activations_with_pending_cancel,
    celery_processes,
    given_broker_url,
    private_prefix,
    publisher,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)
COUNT = 100
OUTAGE_SECONDS = 15


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _pending(ids, *procs) -> int:
    for proc in procs:
        assert proc.poll() is None, f"a Celery process died (exit code {proc.returncode})"
    return Activation.objects.filter(pk__in=ids, upstream_pending="cancel").count()


@pytest.mark.parametrize(
    "broker",
    [
        "amqp",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(
                os.environ.get("REDIS_BROKER_OUTAGE") != "1",
                reason="Redis as broker: opt-in (REDIS_BROKER_OUTAGE=1), see docs/operations.md",
            ),
        ),
    ],
)
def test_worker_rides_out_a_broker_outage(broker, customer_with_key, tmp_path, monkeypatch):
    direct = given_broker_url() if broker == "amqp" else settings.CACHES["default"]["LOCATION"]
    target = urlsplit(direct)
    prefix = private_prefix()
    customer, _ = customer_with_key(balance="1000.00")
    with FakeSmsActivate(api_key="k") as fake, TcpProxy(target.hostname, target.port) as proxy:
        ids = activations_with_pending_cancel(fake, customer, COUNT)
        fake.delay(0.3, actions=["setStatus"])  # the worker always has tasks in flight
        via_proxy = _via(direct, proxy.port)
        monkeypatch.setenv("CELERY_BROKER_URL", via_proxy)
        with celery_processes(
            via_proxy,
            prefix,
            tmp_path,
            direct_broker_url=direct,
            FORWARD_SWEEP_SECONDS="5",
            CELERY_VISIBILITY_TIMEOUT="10",
        ) as procs:
            worker = procs.worker("worker", concurrency=2)
            beat = procs.beat()
            wait_for(lambda: "ready." in procs.log("worker"), 60, "the worker to start")
            pub = publisher(via_proxy, prefix, ids, rate=4)

            wait_for(lambda: _pending(ids, worker, beat) <= COUNT - 15, 60, "forwarding to get going")
            proxy.refuse()  # every connection cut, new ones refused: the broker is down
            cut_at = time.monotonic()
            done_at_cut = COUNT - _pending(ids, worker, beat)
            time.sleep(OUTAGE_SECONDS)
            done_during = COUNT - _pending(ids, worker, beat) - done_at_cut
            proxy.restore()
            restored_at = time.monotonic()

            # The worker works again by itself: something is forwarded after the restore.
            wait_for(
                lambda: COUNT - _pending(ids, worker, beat) > done_at_cut + done_during,
                60,
                "the first forward after restore",
            )
            first_after = time.monotonic() - restored_at
            out, _ = pub.communicate(timeout=120)
            wait_for(
                lambda: _pending(ids, worker, beat) == 0, 120, "every pending cancel to be forwarded", interval=0.5
            )
            all_done = time.monotonic() - restored_at
            assert worker.poll() is None and beat.poll() is None, "worker or beat died"
            worker_log, beat_log = procs.log("worker"), procs.log("beat")

    lines = [line.split() for line in out.splitlines()]
    failed = [float(took) for status, _, took in lines if status == "fail"]
    sent = [int(i) for status, i, _ in lines if status == "ok"]
    print(
        f"\n{broker}: {done_at_cut} forwarded before the cut, {done_during} during it; "
        f"first forward {first_after:.1f} s after restore, all {COUNT} done {all_done:.1f} s after; "
        f"{len(sent)} published, {len(failed)} publishes failed (slowest {max(failed, default=0):.2f} s); "
        f"outage {time.monotonic() - cut_at:.0f} s ago"
    )
    assert len(lines) == COUNT
    assert failed, "no publish failed: the outage did not happen"
    assert max(failed) < 3, "a publish on a dead broker must not hang the web request"
    assert "Connection to broker lost" in worker_log or "Cannot connect" in worker_log
    assert not re.search(r"AttributeError|Unrecoverable error", worker_log), worker_log[-3000:]
    upstream_ids = Activation.objects.filter(pk__in=ids).values_list("upstream_id", flat=True)
    assert all(fake.activations[int(u)].status == "cancelled" for u in upstream_ids)
    assert "Sending due task" in beat_log
