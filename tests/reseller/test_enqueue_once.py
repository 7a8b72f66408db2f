"""At most one queued copy of a piece of work (PostgreSQL + the test Redis), and a dead broker
never holds a producer for long. Tasks run eagerly here (the suite's setting); the real-process
layout is shown by test_cancel_burst.py and test_broker_outage.py."""

import time

import pytest
from celery import Celery
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from reseller.activations import enqueue
from reseller.activations.enqueue import publish, publish_once, queued_key, queued_mark
from reseller.models import Activation
from reseller.tasks import forward_pending, forward_queued_mark, reconcile_unknown, sync_statuses
from tests.fakes.sms_activate import FakeSmsActivate
from tests.fakes.tcp_proxy import TcpProxy
from tests.reseller.celery_procs import DEFAULT_BROKER, activations_bought, activations_with_pending_cancel

pytestmark = pytest.mark.django_db(transaction=True)


def _pending(ids) -> set[int]:
    return set(Activation.objects.filter(pk__in=ids, upstream_pending="cancel").values_list("pk", flat=True))


def test_forward_pending_skips_a_forward_already_queued_until_its_mark_expires(customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    with FakeSmsActivate(api_key="k") as fake:
        queued, lost = activations_with_pending_cancel(fake, customer, 2)
        key, _ = forward_queued_mark(queued)
        assert queued_mark(key, 1)  # its forward_status is in the queue (ttl 1 s here)

        assert forward_pending() == 1  # only the other one is sent
        assert _pending([queued, lost]) == {queued}
        assert fake.actions().count("setStatus") == 1
        assert forward_pending() == 0  # still queued: no second message

        time.sleep(1.2)  # the message was lost: its mark expires, the sweeper sends it again
        assert forward_pending() == 1
        assert _pending([queued, lost]) == set()
        assert cache.get(key) is None  # the task cleared its mark when done
        assert fake.actions().count("setStatus") == 2


def test_sync_statuses_sends_no_second_sync_while_one_is_queued(customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    with FakeSmsActivate(api_key="k") as fake:
        (activation,) = activations_bought(fake, customer, 1)
        provider_id = Activation.objects.get(pk=activation).provider_id
        key = queued_key("sync", provider_id)
        fake.clear_calls()
        assert queued_mark(key, 30)  # a sync of this provider waits in the queue

        assert sync_statuses() == 0
        assert fake.actions() == []
        cache.delete(key)  # it ran
        assert sync_statuses() == 1
        assert "getActiveActivations" in fake.actions()
        assert cache.get(key) is None


def test_reconcile_unknown_sends_no_second_reconcile_while_one_is_queued(customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    with FakeSmsActivate(api_key="k") as fake:
        (activation,) = activations_bought(fake, customer, 1)
        Activation.objects.filter(pk=activation).update(state="unknown", upstream_pending="reconcile")
        provider_id = Activation.objects.get(pk=activation).provider_id
        key = queued_key("reconcile", provider_id)
        assert queued_mark(key, 30)
        assert reconcile_unknown() == 0
        cache.delete(key)
        assert reconcile_unknown() == 1
        assert cache.get(key) is None


def test_marks_are_skipped_when_the_cache_is_down():
    """Redis down: a duplicate message is harmless, a missing one is not; the mark says "send"."""
    host, port = settings.CACHES["default"]["LOCATION"].split("//")[1].split("/")[0].split(":")
    with TcpProxy(host, int(port)) as proxy:
        location = settings.CACHES["default"]["LOCATION"].replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
        with override_settings(CACHES={"default": {**settings.CACHES["default"], "LOCATION": location}}):
            assert queued_mark("probe-mark", 30)
            proxy.refuse()
            started = time.monotonic()
            assert queued_mark("probe-mark", 30)  # refused: not checked, sent
            enqueue.queued_clear("probe-mark")  # no error either
            assert time.monotonic() - started < 2
    cache.delete("probe-mark")


@pytest.fixture
def dead_broker_task(monkeypatch):
    """A task on an app configured like production whose broker is behind a proxy (call
    proxy.refuse() or proxy.hang()); the process's publish pause starts cleared."""
    target = DEFAULT_BROKER.split("@")[1].split("/")[0].split(":")
    with TcpProxy(target[0], int(target[1])) as proxy:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}//"
        monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery lets the variable win over broker_url
        app = Celery("dead-broker", set_as_current=False)
        app.conf.update(
            broker_url=url,
            task_publish_retry=settings.CELERY_TASK_PUBLISH_RETRY,
            task_publish_retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY,
            broker_connection_timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT,
            broker_transport_options={"confirm_publish": True},
            task_default_queue="never-declared-on-a-live-broker",
        )

        @app.task(name="dead.noop", shared=False)
        def noop() -> None:
            pass

        monkeypatch.setattr(enqueue, "_paused_until", 0.0)
        yield noop, proxy
        app.pool.force_close_all()


@pytest.mark.parametrize("fault", ["refuse", "hang"])
def test_a_dead_broker_never_holds_a_request_long(dead_broker_task, fault):
    task, proxy = dead_broker_task
    getattr(proxy, fault)()
    key = queued_key("forward", "probe")
    started = time.monotonic()
    assert publish_once(task, key, 60, replace=True) is False
    first = time.monotonic() - started
    assert cache.get(key) is None  # not marked queued: the sweeper sends it
    started = time.monotonic()
    assert publish(task) is False  # paused: no second wait on the same dead broker
    second = time.monotonic() - started
    print(f"\n{fault}: first publish gave up after {first:.2f} s, the next one after {second:.3f} s")
    assert first < (8 if fault == "hang" else 2)
    assert second < 0.1
