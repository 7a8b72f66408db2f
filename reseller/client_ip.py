"""The caller's IP address, for the API's limits and the admin's login lockout.

`REMOTE_ADDR` unless `TRUSTED_PROXY_COUNT` says how many reverse proxies stand in
front of gunicorn: each of them appends the address it received the request from
to `X-Forwarded-For`, so the client is the N-th entry from the right. Entries
further left were written by the client and are never trusted. A header shorter
than N, or an entry that is not an IP address, falls back to `REMOTE_ADDR`.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR") or ""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            try:
                return str(ipaddress.ip_address(hops[-proxies]))
            except ValueError:
                pass
    return remote
