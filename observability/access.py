"""Who may read the metrics (docs/metrics.md, "Access").

With a token configured (METRICS_TOKEN): only a request carrying
`Authorization: Bearer <token>`, compared in constant time, from anywhere.
With none: only a caller on the loopback interface whose request carries no
forwarding header (a reverse proxy on the same host would make every outside
caller look local: it adds X-Forwarded-For / Forwarded / X-Real-IP).
Everything else is refused; the caller learns nothing (the web answers 404).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

# WSGI environ keys of the headers a reverse proxy adds.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_HOST")
_SCHEME = "bearer "


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether the Authorization header is `Bearer <token>` (scheme in any case; constant time
    in the token's content)."""
    if not token or not authorization or authorization[: len(_SCHEME)].lower() != _SCHEME:
        return False
    return hmac.compare_digest(authorization[len(_SCHEME) :].strip().encode(), token.encode())


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").strip()).is_loopback
    except ValueError:
        return False


def metrics_allowed(environ: Mapping[str, object], token: str) -> bool:
    """The access rule, read from a WSGI environ (Django's `request.META` is one)."""
    if token:
        return bearer_matches(str(environ.get("HTTP_AUTHORIZATION") or ""), token)
    if any(environ.get(header) for header in FORWARDING_HEADERS):
        return False
    return is_loopback(str(environ.get("REMOTE_ADDR") or ""))
