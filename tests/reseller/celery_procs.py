"""Real Celery processes for tests: workers and beat against the test database, a broker the
tests are given (TEST_BROKER_URL, RabbitMQ) and queues private to one test (CELERY_QUEUE_PREFIX).

    with celery_processes(broker_url, prefix) as procs:
        procs.worker("all")                      # every queue
        procs.worker("urgent", queues=["urgent"])
        procs.beat()
        procs.send("reseller.forward_pending")   # routed as beat would route it
    # stops the processes, deletes the private queues (never any other)

`python -m tests.reseller.celery_procs publish ID...` is a web process sending forward_status
for each id through `enqueue.publish` (bounded publish retry, pause after a failure); it prints
`ok ID SECONDS` or `fail ID SECONDS` per id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

import kombu

from tests.subprocess_env import production_env

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
QUEUES = ("urgent", "forward", "slow")


def given_broker_url() -> str:
    """TEST_BROKER_URL (RabbitMQ); fails the test with a clear message when it does not answer."""
    url = os.environ.get("TEST_BROKER_URL", DEFAULT_BROKER)
    try:
        with kombu.Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - turned into a readable failure
        raise AssertionError(
            f"the RabbitMQ the tests are given (TEST_BROKER_URL={url}) does not answer: {exc!r}; "
            "start it (scripts/services.sh does) or point TEST_BROKER_URL at one"
        ) from exc
    return url


def private_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def process_env(broker_url: str, prefix: str, **extra: str) -> dict:
    """The environment of a production process (reseller.settings) on the test database and cache."""
    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION")
    env = production_env(
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_QUEUE_PREFIX=prefix,
        # The given test Redis: the task system's keys carry the prefix.
        **({"REDIS_URL": location} if location else {}),
    )
    env.update(extra)
    return env


class Processes:
    def __init__(self, broker_url: str, prefix: str, log_dir: Path, env: dict[str, str]):
        self.broker_url = broker_url
        self.prefix = prefix
        self.log_dir = log_dir
        self.extra_env = env
        self.procs: dict[str, subprocess.Popen] = {}
        self._app = None

    def _start(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "reseller", *args],
            cwd=ROOT,
            env=process_env(self.broker_url, self.prefix, **{**self.extra_env, **env}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def worker(self, name: str, *, queues=QUEUES, concurrency: int = 1, pool: str = "prefork", **env):
        return self._start(
            name,
            [
                "worker",
                "-Q",
                ",".join(self.prefix + q for q in queues),
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "-n",
                f"{name}-{self.prefix}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            **env,
        )

    def beat(self, **env):
        schedule = self.log_dir / "celerybeat-schedule"
        return self._start("beat", ["beat", "--loglevel=INFO", "--schedule", str(schedule)], **env)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def app(self):
        """A producer configured like production for this prefix (routes, queues, publish retry)."""
        if self._app is None:
            from celery import Celery
            from django.conf import settings

            def private(queue: str) -> str:
                return self.prefix + queue.removeprefix(settings.CELERY_QUEUE_PREFIX)

            app = Celery("test-sender", set_as_current=False)
            queues = [self.prefix + q for q in QUEUES]
            app.conf.update(
                broker_url=self.broker_url,
                task_queues={q: {"exchange": q, "routing_key": q} for q in queues},
                task_default_queue=private(settings.CELERY_TASK_DEFAULT_QUEUE),
                task_default_exchange=private(settings.CELERY_TASK_DEFAULT_QUEUE),
                task_default_routing_key=private(settings.CELERY_TASK_DEFAULT_QUEUE),
                task_routes={name: {"queue": private(r["queue"])} for name, r in settings.CELERY_TASK_ROUTES.items()},
                broker_connection_timeout=2,
            )
            self._app = app
        return self._app

    def send(self, task_name: str, *args, **options) -> None:
        self.app.send_task(task_name, args=list(args), **options)

    def queue_depth(self, queue: str) -> int:
        with kombu.Connection(self.broker_url, connect_timeout=3) as conn:
            _, count, _ = conn.default_channel.queue_declare(queue=self.prefix + queue, passive=True)
            return count

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def delete_queues(self, direct_broker_url: str) -> None:
        """Delete this prefix's queues and exchanges (by their exact names; nothing else)."""
        if direct_broker_url.startswith(("redis", "rediss")):
            import redis

            client = redis.Redis.from_url(direct_broker_url)
            for key in client.scan_iter(match=f"{self.prefix}*", count=500):
                client.delete(key)
            return
        with kombu.Connection(direct_broker_url, connect_timeout=3) as conn:
            for q in QUEUES:
                name = self.prefix + q
                with contextlib.suppress(Exception):
                    conn.default_channel.queue_delete(queue=name)
                with contextlib.suppress(Exception):
                    conn.default_channel.exchange_delete(exchange=name)
            for exchange in ("celery.pidbox", "celeryev", "reply.celery.pidbox"):
                exchange = self.prefix + exchange
                with contextlib.suppress(Exception):
                    conn.default_channel.exchange_delete(exchange=exchange)


@contextlib.contextmanager
def celery_processes(broker_url: str, prefix: str, log_dir: Path, *, direct_broker_url: str | None = None, **env):
    """Workers/beat started through `broker_url` (maybe a proxy); queues deleted at the end
    through `direct_broker_url` (the broker itself; default: the same URL)."""
    procs = Processes(broker_url, prefix, log_dir, env)
    try:
        yield procs
    finally:
        procs.stop()
        procs.delete_queues(direct_broker_url or broker_url)


def publisher(broker_url: str, prefix: str, ids: list[int], *, rate: float, **env) -> subprocess.Popen:
    """Start a web-like process that publishes forward_status for each id, `rate` per second."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reseller.celery_procs", "publish", str(rate), *map(str, ids)],
        cwd=ROOT,
        env=process_env(broker_url, prefix, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def activations_bought(fake, customer, count: int) -> list[int]:
    """`count` activations bought from `fake` (slot 1, provider created on the first call)."""
    from billing.selectors import wallet_of
    from reseller.activations.purchase import PurchaseRequest, activation_purchase
    from upstream.models import Country, Provider, Service
    from upstream.services import catalogue_sync, provider_add

    if not Provider.objects.filter(slot=1).exists():
        fake.set_offer(22, "tg", "2.00", 10_000)
        catalogue_sync(provider=provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key="k", currency="PKR"))
    service, country, wallet = Service.objects.get(code="tg"), Country.objects.get(pk=22), wallet_of(customer)
    req = PurchaseRequest(customer_id=customer.pk, wallet_id=wallet.pk, service=service, country=country)
    return [activation_purchase(req).pk for _ in range(count)]


def activations_with_pending_cancel(fake, customer, count: int) -> list[int]:
    """`count` activations bought from `fake` and cancelled by the customer: refunded, each with
    a cancel waiting to be forwarded upstream (nothing enqueued yet)."""
    from datetime import timedelta

    from django.utils import timezone

    from reseller.activations.lifecycle import Change, activation_cancel
    from reseller.models import Activation

    ids = activations_bought(fake, customer, count)
    Activation.objects.filter(pk__in=ids).update(activated_at=timezone.now() - timedelta(seconds=300))
    with mock.patch("reseller.activations.lifecycle._queue_forward"):  # nothing enqueued yet
        for activation in Activation.objects.filter(pk__in=ids):
            assert activation_cancel(activation=activation) == Change.CANCELLED
    assert Activation.objects.filter(pk__in=ids, upstream_pending="cancel").count() == count
    return ids


def _publish_main(rate: float, ids: list[int]) -> None:
    import django

    django.setup()
    from reseller.activations.enqueue import publish_once
    from reseller.tasks import forward_queued_mark, forward_status

    for activation_id in ids:
        started = time.monotonic()
        # What setStatus does after its commit (reseller/protocol/actions/activations.py).
        ok = publish_once(forward_status, *forward_queued_mark(activation_id), activation_id, replace=True)
        took = time.monotonic() - started
        print(f"{'ok' if ok else 'fail'} {activation_id} {took:.3f}", flush=True)
        time.sleep(max(0.0, 1 / rate - took))


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        _publish_main(float(sys.argv[2]), [int(x) for x in sys.argv[3:]])
