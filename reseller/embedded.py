"""In-process periodic tasks for the embedded run (no broker, no beat process).

Runs every entry of CELERY_BEAT_SCHEDULE whose schedule is a number of
seconds, in a daemon thread, through the same Celery task objects a worker
would run. Production runs `celery -A reseller beat` instead.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)


def _run(task_name: str) -> None:
    from reseller.celery import app

    try:
        app.tasks[task_name].apply(throw=True)
    except Exception:  # noqa: BLE001 - a failing task must not stop the scheduler
        log.exception("embedded beat: task %s failed", task_name)
    finally:
        close_old_connections()


def _loop(stop: threading.Event) -> None:
    entries = {
        e["task"]: float(e["schedule"])
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if isinstance(e["schedule"], int | float)
    }
    due = {name: time.monotonic() + interval for name, interval in entries.items()}
    while not stop.is_set():
        now = time.monotonic()
        for name, when in due.items():
            if when <= now:
                _run(name)
                due[name] = time.monotonic() + entries[name]
        stop.wait(max(0.05, min(due.values(), default=now + 1) - time.monotonic()))
    connection.close()


class EmbeddedBeat:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=_loop, args=(self._stop,), name="embedded-beat", daemon=True)

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)


def start_embedded_beat() -> EmbeddedBeat:
    """Start the scheduler thread (a daemon: it ends with the server)."""
    from reseller.celery import app

    app.loader.import_default_modules()  # what a worker does at start-up: register every task
    beat = EmbeddedBeat()
    beat._thread.start()
    log.info("embedded beat started: %s", ", ".join(e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()))
    return beat
