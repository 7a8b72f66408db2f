"""The Celery application `reseller`: `celery -A reseller worker` / `celery -A reseller beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseller.settings")

app = Celery("reseller")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# --- Logs (docs/logging.md) -------------------------------------------------------------------
# Workers and beat log through the settings' LOGGING (JSON lines, masked, request ids), not the
# handlers Celery would put on the root logger; a task carries the request id of whoever queued it.
from celery import signals  # noqa: E402

from observability.request_id import connect_celery  # noqa: E402

connect_celery()


@signals.setup_logging.connect(weak=False)
def _logging_from_settings(**_kwargs) -> None:
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
