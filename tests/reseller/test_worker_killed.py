"""A real Celery worker (the RabbitMQ the tests are given, queues private to the test, the test
database) is killed with SIGKILL in the middle of forwarding a cancel upstream. Nothing is lost:
the pending mark stays in the database, and a new worker finishes the work (the redelivered
message or the forward_pending sweeper, whichever comes first)."""

import signal
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from billing.selectors import wallet_of
from reseller.activations.lifecycle import Change, activation_cancel
from reseller.activations.purchase import PurchaseRequest, activation_purchase
from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.celery_procs import celery_processes, given_broker_url, private_prefix, wait_for
from upstream.models import Country, Service
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db(transaction=True)


def test_killed_worker_loses_nothing(customer_with_key, tmp_path, monkeypatch):
    broker_url = given_broker_url()
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
        with mock.patch("reseller.activations.lifecycle._queue_forward"):  # the worker below forwards it
            assert activation_cancel(activation=activation) == Change.CANCELLED
        activation.refresh_from_db()
        assert activation.upstream_pending == "cancel"

        fake.delay(8, actions=["setStatus"])  # the upstream hangs: the worker sits in the call
        with celery_processes(broker_url, private_prefix(), tmp_path) as procs:
            worker = procs.worker("first", pool="solo")
            procs.send("reseller.forward_status", activation.pk)
            wait_for(lambda: "setStatus" in fake.actions(), 30, "the worker to call the upstream")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)

            activation.refresh_from_db()
            assert activation.upstream_pending == "cancel"  # not lost, not falsely cleared
            assert fake.activations[int(activation.upstream_id)].status == "waiting"

            fake.delay(0)
            procs.worker("second", pool="solo")
            procs.send("reseller.forward_pending")  # what beat sends every 30 s
            wait_for(
                lambda: Activation.objects.get(pk=activation.pk).upstream_pending == "",
                60,
                "the pending cancel to be forwarded after the restart",
            )
        assert fake.activations[int(activation.upstream_id)].status == "cancelled"
        wallet = wallet_of(customer)
        assert wallet.balance - wallet.held == Decimal("100.00")
