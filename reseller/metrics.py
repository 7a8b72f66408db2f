"""The web's metrics (docs/metrics.md): the scrape view, the HTTP middleware, and the gauges read
from the database and the broker at each scrape.

- `metrics_view` answers METRICS_PATH (default /metrics) under observability.access's rule
  (a bearer METRICS_TOKEN, or loopback without forwarding headers when none is set); everyone
  else gets a plain 404, as for any unknown path.
- `HttpMetricsMiddleware` counts and times every request by endpoint (the four protocol
  scripts, `admin`, `other`) and protocol action (only the endpoint's own action names;
  anything else is `unknown`, no action `none`): never a customer's raw input as a label.
- `ScrapeGauges` is read by the web's scrape only (never registered globally, so a worker's
  port never runs these queries): open holds, live orders, provider circuits, the last
  ledger_verify, queue depths. Each source that fails (the database, the broker) drops its
  families and reports `reseller_metrics_source_up{source=...} 0`; the scrape still answers.
"""

import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from prometheus_client.core import GaugeMetricFamily

from billing.models import Hold, LedgerVerifyRun
from observability import metrics
from observability.access import metrics_allowed
from reseller.models import Activation, EmailOrder, Rental
from reseller.protocol import endpoints
from reseller.protocol.params import Params
from reseller.protocol.views import INERT_METHODS, one_line
from upstream.health import circuit_state
from upstream.models import Provider

log = logging.getLogger(__name__)

CIRCUIT_STATES = ("closed", "half-open", "open")
QUEUES = ("urgent", "forward", "slow", "webhooks")  # without CELERY_QUEUE_PREFIX (reseller/settings.py)
BROKER_TIMEOUT_SECONDS = 1.0
# Kombu's Redis transport keeps a queue's messages of priority p > 0 in `<queue>\x06\x16<p>`.
_REDIS_PRIORITY_SEP, _REDIS_PRIORITIES = "\x06\x16", (3, 6, 9)

# --- HTTP ---------------------------------------------------------------------------------

PROTOCOL_PATHS = {
    "/stubs/handler_api.php": ("handler_api.php", endpoints.HANDLER_API),
    "/stubs/cheap_handler.php": ("cheap_handler.php", endpoints.CHEAP_HANDLER),
    "/stubs/rental-handler.php": ("rental-handler.php", endpoints.RENTAL_HANDLER),
    "/stubs/email_handler.php": ("email_handler.php", endpoints.EMAIL_HANDLER),
}
ENDPOINT_LABELS = (*(label for label, _ in PROTOCOL_PATHS.values()), "admin", "other")


def http_labels(request: HttpRequest) -> tuple[str, str]:
    """(endpoint, action) of a request that was answered (its parameters already read)."""
    path = request.path_info
    known = PROTOCOL_PATHS.get(path)
    if known is None:
        return ("admin" if path.startswith("/admin/") else "other"), "none"
    label, endpoint = known
    if request.method in INERT_METHODS:
        return label, "none"  # HEAD and OPTIONS never run an action
    try:
        action = Params.from_request(request).get("action")
    except Exception:  # noqa: BLE001 - a body the view could read but we cannot: no label to give
        return label, metrics.UNKNOWN
    if action is None:
        return label, "none"
    return label, metrics.bounded(action, endpoint.actions.keys())


class HttpMetricsMiddleware:
    """First in MIDDLEWARE: the time of everything Django does for the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        endpoint, action = http_labels(request)
        metrics.HTTP_SECONDS.labels(endpoint=endpoint, action=action).observe(time.monotonic() - started)
        metrics.HTTP_REQUESTS.labels(endpoint=endpoint, action=action, status=str(response.status_code)).inc()
        return response


# --- the scrape ---------------------------------------------------------------------------


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request.META, settings.METRICS_TOKEN):
        return HttpResponseNotFound(b"Not Found\n", content_type="text/plain; charset=utf-8")
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    response = HttpResponse(metrics.exposition(ScrapeGauges()), content_type=metrics.CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


class ScrapeGauges:
    """The gauges computed at scrape time (a `collect()` for observability.metrics.exposition)."""

    def collect(self):
        up = GaugeMetricFamily(
            "reseller_metrics_source_up",
            "1 when the scrape could read this source (database, broker), 0 when it failed "
            "(its families are then absent from this scrape).",
            labels=["source"],
        )
        try:
            families = list(database_families())
        except Exception as exc:  # noqa: BLE001 - a scrape never fails for one source
            log.warning("metrics: database gauges skipped: %s", one_line(exc))
            families = None
        up.add_metric(["database"], 0 if families is None else 1)
        yield from families or ()
        broker_url = settings.CELERY_BROKER_URL
        if not broker_url.startswith("memory"):
            try:
                families = list(queue_families(broker_url))
            except Exception as exc:  # noqa: BLE001
                log.warning("metrics: queue depths skipped: %s", one_line(exc))
                families = None
            up.add_metric(["broker"], 0 if families is None else 1)
            yield from families or ()
        yield up


def database_families():
    holds = Hold.objects.filter(status=Hold.Status.OPEN).aggregate(n=Count("id"), total=Sum("amount"))
    yield GaugeMetricFamily("reseller_holds_open", "Holds open now (money reserved on wallets).", value=holds["n"])
    yield GaugeMetricFamily("reseller_holds_open_pkr", "Sum of the open holds, PKR.", value=float(holds["total"] or 0))

    live = GaugeMetricFamily(
        "reseller_orders_live", "Orders not yet ended, by kind and state.", labels=["kind", "state"]
    )
    rows = (
        Activation.objects.filter(state__in=Activation.LIVE_STATES).values_list("kind", "state").annotate(n=Count("id"))
    )
    for kind, state, n in rows.order_by():
        live.add_metric([kind, state], n)
    for model in (Rental, EmailOrder):
        for state, n in (
            model.objects.filter(state__in=model.LIVE_STATES).values_list("state").annotate(n=Count("id")).order_by()
        ):
            live.add_metric([str(model.kind), state], n)
    yield live

    circuit = GaugeMetricFamily(
        "reseller_provider_circuit_state",
        "Circuit breaker of each provider slot: 1 for its current state (closed, half-open, open), 0 for the others.",
        labels=["provider", "state"],
    )
    info = GaugeMetricFamily(
        "reseller_provider_info",
        "Each provider slot's protocol, name and whether it is enabled (value 1).",
        labels=["provider", "protocol", "name", "enabled"],
    )
    fields = ("slot", "protocol", "name", "enabled", "consecutive_failures", "circuit_open_until")
    for provider in Provider.objects.only(*fields).order_by("slot"):
        slot = str(provider.slot)
        current = circuit_state(provider)
        for state in CIRCUIT_STATES:
            circuit.add_metric([slot, state], 1 if state == current else 0)
        info.add_metric([slot, provider.protocol, (provider.name or "")[:40], "1" if provider.enabled else "0"], 1)
    yield circuit
    yield info

    run = LedgerVerifyRun.objects.filter(pk=LedgerVerifyRun.SINGLETON).first()
    if run is not None:  # never run: the family is absent (alert on its absence)
        yield GaugeMetricFamily(
            "reseller_ledger_verify_ok", "1 if the last ledger_verify found no violation.", value=int(run.ok)
        )
        yield GaugeMetricFamily(
            "reseller_ledger_verify_violations", "Violations the last ledger_verify found.", value=run.violations
        )
        yield GaugeMetricFamily(
            "reseller_ledger_verify_timestamp_seconds",
            "When the last ledger_verify finished (Unix time).",
            value=run.finished_at.timestamp(),
        )
        yield GaugeMetricFamily(
            "reseller_ledger_verify_duration_seconds",
            "How long the last ledger_verify ran.",
            value=run.duration_seconds,
        )


# --- queue depths ---------------------------------------------------------------------


def _queue_names() -> dict[str, str]:
    """Label -> the broker's queue name (with CELERY_QUEUE_PREFIX)."""
    return {queue: f"{settings.CELERY_QUEUE_PREFIX}{queue}" for queue in QUEUES}


def queue_families(broker_url: str):
    messages = GaugeMetricFamily("reseller_queue_messages", "Messages waiting in each task queue.", labels=["queue"])
    scheme = urlsplit(broker_url).scheme
    if scheme in ("redis", "rediss"):
        for label, count in _redis_depths(broker_url).items():
            messages.add_metric([label], count)
        yield messages
        return
    consumers = GaugeMetricFamily("reseller_queue_consumers", "Workers consuming each task queue.", labels=["queue"])
    for label, (count, consuming) in _amqp_depths(broker_url).items():
        messages.add_metric([label], count)
        consumers.add_metric([label], consuming)
    yield messages
    yield consumers


def _redis_depths(broker_url: str) -> dict[str, int]:
    import redis

    prefix = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get("global_keyprefix", "")
    client = redis.Redis.from_url(
        broker_url, socket_timeout=BROKER_TIMEOUT_SECONDS, socket_connect_timeout=BROKER_TIMEOUT_SECONDS
    )
    try:
        names = _queue_names()
        with client.pipeline(transaction=False) as pipe:
            for name in names.values():
                key = f"{prefix}{name}"
                pipe.llen(key)
                for priority in _REDIS_PRIORITIES:
                    pipe.llen(f"{key}{_REDIS_PRIORITY_SEP}{priority}")
            counts = pipe.execute()
    finally:
        client.close()
    step = 1 + len(_REDIS_PRIORITIES)
    return {label: sum(counts[i * step : (i + 1) * step]) for i, label in enumerate(names)}


def _amqp_depths(broker_url: str) -> dict[str, tuple[int, int]]:
    """A passive queue_declare per queue (RabbitMQ): (messages, consumers). A queue not declared
    yet (no worker ever started for it) is left out."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    timeouts = {"read_timeout": BROKER_TIMEOUT_SECONDS, "write_timeout": BROKER_TIMEOUT_SECONDS}
    found: dict[str, tuple[int, int]] = {}
    with Connection(
        broker_url, connect_timeout=BROKER_TIMEOUT_SECONDS, heartbeat=0, transport_options=timeouts
    ) as conn:
        conn.connect()
        channel = conn.channel()
        try:
            for label, name in _queue_names().items():
                try:
                    ok = channel.queue_declare(queue=name, passive=True)
                except NotFound:  # the broker closed the channel: the next queue gets a new one
                    channel = conn.channel()
                    continue
                found[label] = (ok.message_count, ok.consumer_count)
        finally:
            channel.close()
    return found
