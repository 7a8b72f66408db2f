import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse

from reseller.protocol.views import one_line

log = logging.getLogger(__name__)


def healthz(request):
    """Liveness/readiness for load balancers: the database and the cache answer.
    A failure is one log line (no traceback: a load balancer probes every few seconds)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        cache.set("healthz", "1", 5)
        ok = cache.get("healthz") == "1"
    except Exception as exc:  # noqa: BLE001
        log.warning("health check failed: %s", one_line(exc))
        ok = False
    return HttpResponse(b"ok" if ok else b"unavailable", status=200 if ok else 503, content_type="text/plain")
