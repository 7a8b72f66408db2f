"""Every task has its queue: status sync and expiry never share one with forwarding."""

from django.conf import settings


def test_every_task_and_beat_entry_is_routed_to_a_declared_queue():
    from reseller.celery import app

    app.loader.import_default_modules()
    # Celery's own tasks and those a test registers on the app (tests.observability.test_sentry) aside.
    ours = {name for name in app.tasks if not name.startswith(("celery.", "tests."))}
    assert ours == set(settings.CELERY_TASK_ROUTES)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in settings.CELERY_TASK_ROUTES
        assert entry["options"]["expires"] >= entry["schedule"]
    assert {r["queue"] for r in settings.CELERY_TASK_ROUTES.values()} <= set(settings.CELERY_TASK_QUEUES)


def test_sync_and_expiry_are_urgent_forwarding_is_not():
    routes = {name: r["queue"] for name, r in settings.CELERY_TASK_ROUTES.items()}
    urgent = {name for name, queue in routes.items() if queue == settings.QUEUE_URGENT}
    assert urgent == {
        "reseller.sync_statuses",
        "reseller.sync_provider_statuses",
        "reseller.check_activation",
        "reseller.expire_activations",
        "billing.release_expired_holds",
    }
    assert routes["reseller.forward_status"] == routes["reseller.forward_pending"] == settings.QUEUE_FORWARD


def test_customer_webhooks_have_a_queue_of_their_own():
    """A slow customer endpoint occupies only the webhooks worker (docs/operations.md)."""
    routes = {name: r["queue"] for name, r in settings.CELERY_TASK_ROUTES.items()}
    webhooks = {name for name, queue in routes.items() if queue == settings.QUEUE_WEBHOOKS}
    assert webhooks == {"reseller.deliver_webhook", "reseller.sweep_webhooks"}
    assert settings.QUEUE_WEBHOOKS not in (settings.QUEUE_URGENT, settings.QUEUE_FORWARD, settings.QUEUE_SLOW)


def test_the_broker_connection_is_retried_forever_and_publishes_are_bounded():
    assert settings.CELERY_BROKER_CONNECTION_RETRY and settings.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP
    assert settings.CELERY_BROKER_CONNECTION_MAX_RETRIES is None
    assert settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] <= 3
