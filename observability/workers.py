"""Celery's side of the metrics (docs/metrics.md, "Workers").

`install()` connects Celery's signals: every task's run time and every failure, in the
process that runs it (a prefork child writes its own multiprocess files); and, in a worker's
main process, the reset of the multiprocess directory before the pool starts and a small HTTP
server on WORKER_METRICS_PORT (default 9808; 0: none) once the worker is ready. That server
answers METRICS_PATH (default /metrics) under the same access rule as the web's
(observability.access) and 404 to anything else.
"""

from __future__ import annotations

import logging
import os
import socketserver
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import signals

from observability import metrics
from observability.access import metrics_allowed

log = logging.getLogger(__name__)

DEFAULT_PORT = 9808
_started: dict[str, float] = {}
_server: WSGIServer | None = None


def _settings_value(name: str, default: str) -> str:
    from django.conf import settings

    return str(getattr(settings, name, default) or default)


# --- tasks -----------------------------------------------------------------------------


def _task_name(task) -> str:
    return metrics.bounded(getattr(task, "name", None))


def _on_prerun(task_id=None, **_):
    if task_id:
        _started[task_id] = time.monotonic()


def _on_postrun(task_id=None, task=None, **_):
    started = _started.pop(task_id, None) if task_id else None
    if started is not None:
        metrics.TASK_SECONDS.labels(task=_task_name(task)).observe(time.monotonic() - started)


def _on_failure(sender=None, **_):
    metrics.TASK_FAILURES.labels(task=_task_name(sender)).inc()


# --- the worker's own metrics server ----------------------------------------------------


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def metrics_app(environ, start_response):
    """The WSGI app of the worker's metrics server."""
    path = _settings_value("METRICS_PATH", "/metrics")
    if environ.get("PATH_INFO") != path or not metrics_allowed(environ, _settings_value("METRICS_TOKEN", "")):
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found\n"]
    body = metrics.exposition()
    start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE), ("Content-Length", str(len(body)))])
    return [body]


def serve(port: int, addr: str = "0.0.0.0") -> WSGIServer:
    """Serve `metrics_app` on `port` in a daemon thread; returns the server (port 0: any free port)."""
    server = make_server(addr, port, metrics_app, _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server


def _worker_port() -> int:
    raw = os.environ.get("WORKER_METRICS_PORT", "")
    try:
        return int(raw) if raw.strip() else DEFAULT_PORT
    except ValueError:
        log.warning("WORKER_METRICS_PORT=%r is not a port: no worker metrics server", raw)
        return 0


def _on_worker_init(**_):
    metrics.multiprocess_dir_reset()  # the main process, before the pool's children record anything


def _on_worker_ready(sender=None, **_):
    global _server
    port = _worker_port()
    if not port or _server is not None:
        return
    if metrics.multiprocess_dir() is None:
        log.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: the worker metrics on port %s show this process only "
            "(a prefork pool's children are not counted)",
            port,
        )
    try:
        _server = serve(port)
    except OSError as exc:
        log.warning("worker metrics server not started on port %s: %s", port, exc)
        return
    log.info("worker metrics on port %s", port)


def _on_child_shutdown(pid=None, **_):
    metrics.process_dead(pid or os.getpid())


def install() -> None:
    """Connect the signals (idempotent: each has its dispatch uid)."""
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="observability.task_prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="observability.task_postrun")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="observability.task_failure")
    signals.worker_init.connect(_on_worker_init, weak=False, dispatch_uid="observability.worker_init")
    signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="observability.worker_ready")
    signals.worker_process_shutdown.connect(
        _on_child_shutdown, weak=False, dispatch_uid="observability.worker_process_shutdown"
    )
