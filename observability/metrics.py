"""Every metric the processes record themselves, defined once (docs/metrics.md).

prometheus_client's counters and histograms. Under gunicorn and Celery's prefork pool each
process writes its own files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess
mode) and a scrape adds them up (`scrape_registry`); without that variable (the embedded run,
the tests, a solo worker) the process's default registry is read.

Every metric has labels, so none writes a file before it is first used: a process may wipe the
directory at start-up (`multiprocess_dir_reset`) before recording anything. Label values come
only from bounded sets (`bounded`); never from raw user input.

The gauges computed from the database at scrape time are not here: they belong to the layer
that can read those tables (reseller.metrics, the web process only).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Collection, Iterable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

# No `_created` series next to every counter and histogram: they double the series for nothing
# a dashboard reads (and multiprocess mode has none anyway).
disable_created_metrics()

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # Prometheus' text format, understood by every version
UNKNOWN = "unknown"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Request latency: protocol reads take milliseconds, a purchase up to PURCHASE_DEADLINE_SECONDS (20 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

HTTP_REQUESTS = Counter(
    "reseller_http_requests_total",
    "HTTP requests answered, by endpoint, protocol action and HTTP status.",
    ["endpoint", "action", "status"],
)
HTTP_SECONDS = Histogram(
    "reseller_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint and protocol action.",
    ["endpoint", "action"],
    buckets=LATENCY_BUCKETS,
)
PURCHASES = Counter(
    "reseller_purchases_total",
    "Orders that went through the purchase engine, by order kind, provider slot and final outcome.",
    ["kind", "provider", "outcome"],
)
UPSTREAM_SECONDS = Histogram(
    "reseller_upstream_request_duration_seconds",
    "Duration of one HTTP call to an upstream provider (whatever its result), by provider slot and action.",
    ["provider", "action"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_ERRORS = Counter(
    "reseller_upstream_errors_total",
    "Upstream HTTP calls that failed: unavailable (nothing sent), timeout (outcome unknown), "
    "bad_response (an answer that is not a protocol reply).",
    ["provider", "action", "error"],
)
TASK_FAILURES = Counter(
    "reseller_task_failures_total",
    "Celery tasks that raised, by task name.",
    ["task"],
)
TASK_SECONDS = Histogram(
    "reseller_task_duration_seconds",
    "Run time of Celery tasks, by task name.",
    ["task"],
    buckets=TASK_BUCKETS,
)

_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def bounded(value: object, allowed: Collection[str] | None = None, default: str = UNKNOWN) -> str:
    """A label value: `value` as text if it is in `allowed` (or, with no list, if it is a short
    plain token our own code produced), else `default`."""
    if value is None:
        return default
    text = str(value)
    if allowed is not None:
        return text if text in allowed else default
    return text if _TOKEN.fullmatch(text) else default


# --- multiprocess mode ---------------------------------------------------------------


def multiprocess_dir() -> str | None:
    """The multiprocess directory, or None (this process's own registry is the truth)."""
    return os.environ.get(MULTIPROC_ENV) or None


def multiprocess_dir_reset() -> None:
    """Empty (or create) the multiprocess directory: once per start of a process group
    (gunicorn's `on_starting`, a Celery worker's main process), before any child records.
    Files of a previous run would otherwise be summed into this one's counters."""
    path = multiprocess_dir()
    if path is None:
        return
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def process_dead(pid: int) -> None:
    """A child process (gunicorn worker, Celery pool process) exited: prometheus_client's
    bookkeeping for its live gauges. Its counters stay: they were counted."""
    if multiprocess_dir() is not None:
        mark_process_dead(pid)


class _Chain:
    """A registry-like object: the collectors of `registries` then `extra`, read at each scrape."""

    def __init__(self, sources: Iterable):
        self._sources = list(sources)

    def collect(self):
        for source in self._sources:
            yield from source.collect()


def scrape_registry(*extra) -> _Chain:
    """What one scrape reads: every process's files in multiprocess mode (else this process's
    default registry), then the `extra` collectors (objects with `collect()`)."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return _Chain([registry, *extra])
    return _Chain([REGISTRY, *extra])


def exposition(*extra) -> bytes:
    """The text a scrape answers with (Prometheus text format 0.0.4)."""
    return generate_latest(scrape_registry(*extra))
