"""The scrape-time gauges never fail the scrape: a broker that is down drops the queue families
and says so (`reseller_metrics_source_up{source="broker"} 0`); a broker that answers gives each
queue's depth (a real RabbitMQ by a passive declare, a real Redis by LLEN)."""

import contextlib
import socket
import uuid

import kombu
import pytest
import redis
from django.conf import settings
from django.test import override_settings

from tests.observability.scrape import TOKEN, samples, scrape, value
from tests.reseller.celery_procs import given_broker_url

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once closed


@pytest.mark.parametrize("scheme", ["amqp://guest:guest@", "redis://"])
def test_a_broker_that_is_down_does_not_break_the_scrape(client, scheme):
    with override_settings(METRICS_TOKEN=TOKEN, CELERY_BROKER_URL=f"{scheme}127.0.0.1:{closed_port()}//"):
        families = scrape(client)
    assert value(families, "reseller_metrics_source_up", source="broker") == 0
    assert value(families, "reseller_metrics_source_up", source="database") == 1
    assert not samples(families, "reseller_queue_messages")
    assert "reseller_holds_open" in families  # the other sources are still read


def test_the_memory_broker_has_no_queues_to_read(client):
    with override_settings(METRICS_TOKEN=TOKEN, CELERY_BROKER_URL="memory://"):
        families = scrape(client)
    assert not samples(families, "reseller_metrics_source_up") or not [
        s for s in samples(families, "reseller_metrics_source_up") if s.labels["source"] == "broker"
    ]
    assert "reseller_queue_messages" not in families


def test_rabbitmq_queue_depths(client):
    url = given_broker_url()
    prefix = f"tm{uuid.uuid4().hex[:8]}."
    with kombu.Connection(url, connect_timeout=3) as conn:
        channel = conn.channel()
        try:
            for queue, count in (("urgent", 3), ("forward", 1)):
                name = prefix + queue
                channel.queue_declare(queue=name, durable=False, auto_delete=False)
                for n in range(count):
                    kombu.Producer(channel).publish(f"m{n}", exchange="", routing_key=name)
            with override_settings(METRICS_TOKEN=TOKEN, CELERY_BROKER_URL=url, CELERY_QUEUE_PREFIX=prefix):
                families = scrape(client)
        finally:
            for queue in ("urgent", "forward"):
                with contextlib.suppress(Exception):
                    channel.queue_delete(queue=prefix + queue)
            channel.close()
    assert value(families, "reseller_metrics_source_up", source="broker") == 1
    assert value(families, "reseller_queue_messages", queue="urgent") == 3
    assert value(families, "reseller_queue_messages", queue="forward") == 1
    assert value(families, "reseller_queue_consumers", queue="urgent") == 0
    # Queues never declared (no worker has started for them) are absent, not an error.
    assert {s.labels["queue"] for s in samples(families, "reseller_queue_messages")} == {"urgent", "forward"}


def test_redis_queue_depths(client):
    url = settings.CACHES["default"]["LOCATION"]  # this checkout's own test Redis database
    prefix = f"tm{uuid.uuid4().hex[:8]}."
    client_redis = redis.Redis.from_url(url)
    keys = [f"{prefix}{prefix}slow", f"{prefix}{prefix}slow\x06\x163", f"{prefix}{prefix}webhooks"]
    try:
        client_redis.rpush(keys[0], "a", "b")
        client_redis.rpush(keys[1], "c")
        client_redis.rpush(keys[2], "d")
        with override_settings(
            METRICS_TOKEN=TOKEN,
            CELERY_BROKER_URL=url,
            CELERY_QUEUE_PREFIX=prefix,
            CELERY_BROKER_TRANSPORT_OPTIONS={"global_keyprefix": prefix},  # as reseller/settings.py sets it
        ):
            families = scrape(client)
    finally:
        client_redis.delete(*keys)
        client_redis.close()
    assert value(families, "reseller_metrics_source_up", source="broker") == 1
    assert value(families, "reseller_queue_messages", queue="slow") == 3  # priorities summed
    assert value(families, "reseller_queue_messages", queue="webhooks") == 1
    assert value(families, "reseller_queue_messages", queue="urgent") == 0
