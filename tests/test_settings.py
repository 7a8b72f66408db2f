import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

pytestmark = pytest.mark.django_db


def test_postgresql_sessions_have_lock_and_statement_timeouts():
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "5s"
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 60


def test_cache_is_redis_in_the_suite():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("probe", "value", 5)
    assert cache.get("probe") == "value"


def test_celery_app_is_named_reseller_and_beat_has_the_sweeper():
    from reseller.celery import app

    assert app.main == "reseller"
    app.loader.import_default_modules()  # as a worker does at start-up
    assert "billing.release_expired_holds" in app.tasks
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks <= set(app.tasks)


def test_healthz(client):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


@pytest.mark.django_db(transaction=True)
def test_embedded_beat_runs_scheduled_tasks(settings, customer_with_key):
    """The embedded run's scheduler executes the beat schedule in-process."""
    import time
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import Hold
    from billing.selectors import wallet_of
    from billing.services import wallet_hold
    from reseller.embedded import start_embedded_beat

    customer, _ = customer_with_key(balance="10")
    hold = wallet_hold(
        wallet=wallet_of(customer), amount="5", key="e", expires_at=timezone.now() - timedelta(seconds=1)
    ).hold
    settings.CELERY_BEAT_SCHEDULE = {"sweep": {"task": "billing.release_expired_holds", "schedule": 0.1}}
    beat = start_embedded_beat()
    try:
        for _ in range(100):
            hold.refresh_from_db()
            if hold.status == Hold.Status.RELEASED:
                break
            time.sleep(0.05)
    finally:
        beat.stop()
    assert hold.status == Hold.Status.RELEASED
