"""A real Celery worker (Redis broker, the test database) is killed with SIGKILL in
the middle of forwarding a cancel upstream. Nothing is lost: the pending mark
stays in the database, and a new worker finishes the work (the redelivered
message or the forward_pending sweeper, whichever comes first)."""

import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.utils import timezone

from billing.selectors import wallet_of
from reseller.activations.lifecycle import activation_set_status
from reseller.activations.purchase import PurchaseRequest, activation_purchase
from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.subprocess_env import production_env
from upstream.models import Country, Service
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
BROKER_DB = 14


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def broker_url():
    base = settings.CACHES["default"].get("LOCATION") or "redis://127.0.0.1:6379/15"
    url = base.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


def start_worker(broker_url: str, name: str) -> subprocess.Popen:
    env = production_env(CELERY_BROKER_URL=broker_url, CELERY_TASK_ALWAYS_EAGER="0", CELERY_VISIBILITY_TIMEOUT="5")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "reseller",
            "worker",
            "--pool=solo",
            "-n",
            f"{name}@%h",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killed_worker_loses_nothing(customer_with_key, broker_url, monkeypatch):
    # The suite's environment says memory://, and Celery lets that variable override `broker=`.
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    customer, _ = customer_with_key(balance="100.00")
    with FakeSmsActivate(api_key="k") as fake:
        fake.set_offer(22, "tg", "2.00", 5)
        provider = provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key="k", currency="PKR")
        catalogue_sync(provider=provider)
        activation = activation_purchase(
            PurchaseRequest(
                customer_id=customer.pk,
                wallet_id=wallet_of(customer).pk,
                service=Service.objects.get(code="tg"),
                country=Country.objects.get(pk=22),
            )
        )
        Activation.objects.filter(pk=activation.pk).update(activated_at=timezone.now() - timedelta(seconds=300))
        activation.refresh_from_db()
        assert activation_set_status(activation=activation, status=8) == "ACCESS_CANCEL"
        activation.refresh_from_db()
        assert activation.upstream_pending == "cancel"

        fake.delay(8, actions=["setStatus"])  # the upstream hangs: the worker sits in the call
        sender = Celery("sender", broker=broker_url)
        worker = start_worker(broker_url, f"first-{uuid.uuid4().hex[:6]}")
        try:
            sender.send_task("reseller.forward_status", args=[activation.pk])
            wait_for(lambda: "setStatus" in fake.actions(), 30, "the worker to call the upstream")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()

        activation.refresh_from_db()
        assert activation.upstream_pending == "cancel"  # not lost, not falsely cleared
        assert fake.activations[int(activation.upstream_id)].status == "waiting"

        fake.delay(0)
        worker = start_worker(broker_url, f"second-{uuid.uuid4().hex[:6]}")
        try:
            sender.send_task("reseller.forward_pending")  # what beat sends every 30 s
            wait_for(
                lambda: Activation.objects.get(pk=activation.pk).upstream_pending == "",
                60,
                "the pending cancel to be forwarded after the restart",
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        assert fake.activations[int(activation.upstream_id)].status == "cancelled"
        wallet = wallet_of(customer)
        assert wallet.balance - wallet.held == Decimal("100.00")
