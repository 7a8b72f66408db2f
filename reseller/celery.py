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
import logging  # noqa: E402

from celery import signals  # noqa: E402

from observability.request_id import connect_celery  # noqa: E402

connect_celery()


@signals.setup_logging.connect(weak=False)
def _logging_from_settings(**_kwargs) -> None:
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def _json_logs() -> bool:
    from django.conf import settings

    return settings.LOG_FORMAT == "json"


# With JSON logs the start-up banners (printed raw to stdout) become one log line each.
@signals.celeryd_init.connect(weak=False)
def _worker_quiet(instance=None, **_kwargs) -> None:
    if _json_logs() and instance is not None:
        instance.json_banner, instance.quiet = not instance.quiet, True


@signals.celeryd_after_setup.connect(weak=False)
def _worker_banner(instance=None, **_kwargs) -> None:
    if getattr(instance, "json_banner", False):
        logging.getLogger("celery.apps.worker").info("%s", instance.startup_info(artlines=False))


class _Beat(app.Beat):
    def run(self) -> None:
        if _json_logs() and not self.quiet:
            self.quiet = True
            self.setup_logging()
            logging.getLogger("celery.apps.beat").info("celery beat is starting")
        super().run()


app.__dict__["Beat"] = _Beat  # app.Beat is a cached property: this is the class `celery beat` runs


# --- Metrics (docs/metrics.md): task run times and failures; a worker's own metrics port ---
from observability import workers as _metrics_workers  # noqa: E402

_metrics_workers.install()
