"""The audit trail's web side: django-auditlog's middleware, with the caller's address read the way
the rest of the project reads it (reseller/client_ip.py: X-Forwarded-For only from trusted proxies)."""

from auditlog.middleware import AuditlogMiddleware

from reseller.client_ip import client_ip


class AuditMiddleware(AuditlogMiddleware):
    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request) or None
