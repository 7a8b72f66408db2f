"""The Celery application `reseller`: `celery -A reseller worker` / `celery -A reseller beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseller.settings")

app = Celery("reseller")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# --- Metrics (docs/metrics.md): task run times and failures; a worker's own metrics port ---
from observability import workers as _metrics_workers  # noqa: E402

_metrics_workers.install()
