"""POSTing a customer webhook: short timeouts, no redirects, no proxies, and public addresses only.

Unless the delivery may go to private addresses (WEBHOOK_ALLOW_PRIVATE_URLS, or the admin's
"allow private" flag on the customer's webhook), every connection resolves the host itself,
refuses it unless every address it resolves to is public (the rules of
`upstream.destinations.address_refusal`: not private, loopback, link-local, multicast, reserved,
unspecified, nor such an address wrapped in IPv6) or inside one of WEBHOOK_ALLOWED_NETWORKS, and
connects to one of the checked addresses, never to a second lookup's answer (DNS rebinding): the
upstream calls' own checked connections (`upstream.providers.http.CheckedAdapter`) with the
webhooks' rule.

Only the status line matters (HTTP 200 = delivered); the body is never read.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import threading
from functools import lru_cache
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from urllib3.util.retry import Retry

from upstream import destinations
from upstream.providers.http import CheckedAdapter, DestinationRefused

USER_AGENT = "sms-reseller-webhooks/1"
ERROR_CHARS = 300


NOTE = "not allowed for webhooks"


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in configured if text.strip())


def allowed_networks() -> tuple:
    return _networks(tuple(settings.WEBHOOK_ALLOWED_NETWORKS))


def resolve_allowed(host: str, port: int) -> list[tuple[int, str]]:
    """The (family, address) pairs of `host` if every one is public or in WEBHOOK_ALLOWED_NETWORKS;
    else `destinations.RefusedDestination` (a ValueError) naming the first that is not."""
    return destinations.resolve_public(host, port, allowed=allowed_networks(), note=NOTE)


def _anywhere(host: str, port: int) -> None:
    return None  # private addresses allowed: connect as usual


def _adapter(*, checked: bool) -> CheckedAdapter:
    return CheckedAdapter(
        check=resolve_allowed if checked else _anywhere,
        max_retries=Retry(total=0, read=False, redirect=False),
        pool_connections=4,
        pool_maxsize=4,
    )


_local = threading.local()


def _session(checked: bool) -> requests.Session:
    """One session per thread and policy (a Session is not thread-safe), renewed after a fork."""
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        _local.sessions, _local.pid = {}, pid
    session = _local.sessions.get(checked)
    if session is None:
        session = requests.Session()
        session.trust_env = False
        adapter = _adapter(checked=checked)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.sessions[checked] = session
    return session


def url_problem(url: str) -> str:
    """What makes `url` unfit for a webhook by its form alone ("" if nothing): http(s), a host,
    no credentials, at most 500 characters. Where it points is checked when connecting."""
    if len(url) > 500 or any(ord(char) < 33 or ord(char) == 127 for char in url):
        return "not a URL of at most 500 characters without spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "not an http(s) URL"
    if not parts.hostname:
        return "the URL names no host"
    if "@" in parts.netloc:
        return "the URL must not contain credentials"
    return ""


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    error: str = ""  # empty when delivered

    @property
    def delivered(self) -> bool:
        return self.status == 200


def post(url: str, body: str, headers: dict[str, str], *, allow_private: bool) -> Outcome:
    """POST `body` to `url`; HTTP 200 is delivered, anything else (another status, a redirect,
    a refused address, no answer within the timeouts) is a failed try with its reason."""
    problem = url_problem(url)
    if problem:
        return Outcome(None, f"refused: {problem}"[:ERROR_CHARS])
    checked = not (allow_private or settings.WEBHOOK_ALLOW_PRIVATE_URLS)
    try:
        response = _session(checked).post(
            url,
            data=body.encode(),
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_READ_TIMEOUT_SECONDS),
            allow_redirects=False,
            stream=True,
        )
    except requests.exceptions.RequestException as exc:
        return Outcome(None, _reason(exc)[:ERROR_CHARS])
    status = response.status_code
    response.close()  # the body is not read: a connection with an unread body is not reused
    if status == 200:
        return Outcome(200)
    return Outcome(status, f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else ""))


def _reason(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {settings.WEBHOOK_READ_TIMEOUT_SECONDS:g} s"
    cause = exc.args[0] if exc.args else exc
    if isinstance(cause, urllib3.exceptions.MaxRetryError) and cause.reason is not None:
        cause = cause.reason
    if isinstance(cause, DestinationRefused):
        return f"refused: {cause.reason}"
    return f"{type(cause).__name__}: {cause}"
