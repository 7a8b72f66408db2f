"""Production gunicorn settings, overridable from the environment (docs/operations.md)."""

import os
import tempfile

# gunicorn is production serving: never the embedded run's insecure defaults, even on SQLite.
os.environ.setdefault("EMBEDDED", "0")

# PORT: the web port (the dev server's too); GUNICORN_BIND, when set, wins (e.g. 127.0.0.1:8000, unix:/run/x.sock).
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# A worker is never killed inside a purchase: its deadline (PURCHASE_DEADLINE_SECONDS) ends it first.
_purchase_deadline = float(os.environ.get("PURCHASE_DEADLINE_SECONDS", "20"))
timeout = max(int(os.environ.get("GUNICORN_TIMEOUT", "30")), int(_purchase_deadline) + 10)
graceful_timeout = 30
keepalive = 5
max_requests = 20000
max_requests_jitter = 2000
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "0") == "1" else None
errorlog = "-"
# Every line masks api_key=... (the access log, and the request lines gunicorn quotes when it refuses one).
logger_class = "reseller.gunicorn_logging.MaskingLogger"
# The longest request line gunicorn accepts (its maximum; the default is 4094): a longer one gets
# gunicorn's HTTP 414 before Django runs (docs/protocol.md "Refused before the protocol").
limit_request_line = 8190
# gunicorn's control socket (gunicornc) is not used here; its one default path per user would be
# shared by every gunicorn on the host. GUNICORN_CONTROL_SOCKET=1 turns it on.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "0") != "1"

# --- Metrics (docs/metrics.md): prometheus_client's multiprocess mode ---------------------
# Every worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR and a scrape adds them
# up; without it each scrape would see one worker's numbers. Default: a directory per bind
# address, emptied when gunicorn starts (not on a reload: counters keep counting).
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), "reseller-prometheus-web-" + "".join(c if c.isalnum() else "_" for c in bind)),
)


def on_starting(server):
    from observability.metrics import multiprocess_dir_reset

    multiprocess_dir_reset()


def child_exit(server, worker):
    from observability.metrics import process_dead

    process_dead(worker.pid)
