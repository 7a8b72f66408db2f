"""The audit trail's web side: django-auditlog's middleware, for the admin's requests only (the API's
hot path changes no audited model and pays nothing), with the caller's address read the way the
rest of the project reads it (reseller/client_ip.py: X-Forwarded-For only from trusted proxies)."""

from functools import cached_property

from auditlog.middleware import AuditlogMiddleware
from django.urls import reverse

from reseller.client_ip import client_ip


class AuditMiddleware(AuditlogMiddleware):
    @cached_property
    def admin_prefix(self) -> str:
        return reverse("admin:index")

    def __call__(self, request):
        if not request.path_info.startswith(self.admin_prefix):
            return self.get_response(request)
        return super().__call__(request)

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request) or None
