"""The one place that talks HTTP to upstream providers.

`call(provider, params)` sends one GET to `provider.base_url` with `api_key`
and `params` in the query string and returns the body as text. Its contract
is the error split of `upstream.providers.base`:

- `ProviderUnavailable`: the request certainly did not reach the upstream
  (bad URL, DNS failure, connection refused, connect timeout, TLS handshake,
  a destination refused by `upstream.destinations`).
- `ProviderTimeout`: the request was sent and no complete answer came back
  (read timeout, connection reset or closed mid-answer, body too slow). The
  upstream may have carried it out: a purchase must be reconciled, never
  repeated.
- `BadResponse`: an answer came back but it is not a protocol reply: a 3xx
  (redirects are never followed), a 4xx/5xx, or a body over `MAX_BODY_BYTES`
  (or the call's `max_bytes`: a list of every live activation grows with them,
  see `list_body_limit`).

A purchase runs inside `deadline(seconds)`: every call in it, across the whole
failover chain, has its connect and read timeouts cut to what is left, and a
call started with nothing left raises `ProviderUnavailable` without sending.
So a customer's request always ends well inside the web worker's timeout.

Every connection checks its destination (`CheckedAdapter`): unless
UPSTREAM_ALLOW_PRIVATE_URLS is on, the name is resolved here, every address must
be public, and the socket goes to a checked address; environment proxies are not
used. A refused destination is `ProviderUnavailable`: nothing was sent.

Nothing is retried here: a retried purchase can buy twice. Timeouts are
`CONNECT_TIMEOUT` to connect and `provider.config["timeout_seconds"]`
(default `DEFAULT_READ_TIMEOUT`) for the answer: it bounds the silence before
the headers and, separately, the time the whole body may take after them, so
an upstream dripping bytes cannot hold a worker.

The API key is in the query string (the protocol wants it there), so every
URL that is logged or put in an exception message goes through `redact`, and
urllib3's own debug log lines are redacted by a filter installed at import.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import sys
import threading
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import requests
import urllib3
import urllib3.util.connection
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.retry import Retry

from accounts.redaction import RedactApiKeyFilter, redact, register_secret, scrub  # noqa: F401 - re-exported
from observability import metrics
from upstream import destinations
from upstream.providers.base import BadResponse, ProviderError, ProviderTimeout, ProviderUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from upstream.models import Provider

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
MAX_BODY_BYTES = 1024 * 1024
# A reply listing live activations (getActiveActivations) is allowed LIST_BYTES_PER_ENTRY per
# activation we expect in it (a real entry is ~450 bytes; long SMS texts escaped as \uXXXX
# take more), never less than MAX_BODY_BYTES and never more than LIST_MAX_BODY_BYTES unless
# the provider's config sets `list_max_bytes` itself.
LIST_BYTES_PER_ENTRY = 2 * 1024
LIST_MAX_BODY_BYTES = 64 * 1024 * 1024
EXCERPT_CHARS = 200
USER_AGENT = "sms-reseller/0.1"
_CHUNK = 64 * 1024
_REDACT_FILTER = RedactApiKeyFilter()
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "urllib3.response"):
    logging.getLogger(_name).addFilter(_REDACT_FILTER)


# --- connections: the destination checked at connect time --------------------------


class DestinationRefused(NewConnectionError):
    """The address a name resolved to is not public (upstream/destinations.py): nothing was sent.
    `reason` is the check's message alone."""

    def __init__(self, conn, reason: str):
        super().__init__(conn, reason)
        self.reason = reason


def upstream_destinations(host: str, port: int) -> list[tuple[int, str]] | None:
    """The check of every upstream connection: public addresses only, unless
    UPSTREAM_ALLOW_PRIVATE_URLS (None: connect as usual)."""
    if destinations.private_allowed():
        return None
    return destinations.resolve_public(host, port)


class _CheckedConnectionMixin:
    """Resolves the host itself through its class's `destination_check` (the (family, address)
    pairs it may connect to, RefusedDestination, or None for no check), and connects to one of
    the checked addresses, never to a second lookup's answer (DNS rebinding). `self.host` is
    untouched, so the Host header, TLS SNI and certificate hostname verification stay those of
    the URL."""

    destination_check: Callable[[str, int], list[tuple[int, str]] | None]

    def _new_conn(self) -> socket.socket:
        try:
            addresses = self.destination_check(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except destinations.RefusedDestination as exc:
            raise DestinationRefused(self, str(exc)) from None
        if addresses is None:
            return super()._new_conn()
        last: OSError | None = None
        for _, address in addresses:
            try:
                sock = urllib3.util.connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:  # refused, unreachable, timed out: try the next checked address
                last = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(last, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})")
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")


def _checked_pools(check) -> dict[str, type]:
    """Connection pools, by scheme, whose connections go through `check`."""
    members = {"destination_check": staticmethod(check)}
    http = type("CheckedHTTPConnection", (_CheckedConnectionMixin, urllib3.connection.HTTPConnection), members)
    https = type("CheckedHTTPSConnection", (_CheckedConnectionMixin, urllib3.connection.HTTPSConnection), members)
    return {
        "http": type("CheckedHTTPPool", (urllib3.HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("CheckedHTTPSPool", (urllib3.HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class CheckedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections check their destination (`check`, by default
    `upstream_destinations`; customer webhooks have their own) and which never goes through a
    proxy: a proxy from the environment (HTTPS_PROXY) would resolve the name itself, out of the
    check's sight."""

    def __init__(self, *args, check=upstream_destinations, **kwargs):
        self._pools = _checked_pools(check)
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pools)

    def send(self, request, *args, **kwargs):
        kwargs["proxies"] = {}
        return super().send(request, *args, **kwargs)


# --- sessions ----------------------------------------------------------------------

_local = threading.local()


def _new_session() -> requests.Session:
    session = requests.Session()
    # total=0, read=False: no retry of any kind, and a failed read is raised as itself, not as MaxRetryError.
    adapter = CheckedAdapter(max_retries=Retry(total=0, read=False, redirect=False), pool_connections=8, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "*/*"})
    # Environment proxies are never used (CheckedAdapter.send), so requests need not look for them
    # (and for no_proxy, .netrc) in the environment on every call: a seventh of a purchase's CPU.
    # The one other thing it read there, a CA bundle, is read once here, as requests would.
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session


def _session() -> requests.Session:
    """One keep-alive session per thread (a `requests.Session` is not thread-safe), recreated after a fork."""
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        _local.session, _local.pid = _new_session(), pid
    return _local.session


# --- the deadline ------------------------------------------------------------------

_deadline: ContextVar[float | None] = ContextVar("upstream_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float):
    """Every `call` inside this block ends by `seconds` from now (a monotonic instant);
    an outer, earlier deadline wins."""
    at = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left before the current deadline (None: no deadline)."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()


# --- the call ----------------------------------------------------------------------


def read_timeout_of(provider: Provider) -> float:
    value = (provider.config or {}).get("timeout_seconds", DEFAULT_READ_TIMEOUT)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds > 0:
        # Nothing was sent: the row is misconfigured, route around it.
        raise ProviderUnavailable(message=f"provider slot {provider.slot}: invalid timeout_seconds {value!r}")
    return seconds


def list_body_limit(provider: Provider, expected: int | None) -> int:
    """The body cap for a call listing `expected` live activations (None: unknown, the plain cap)."""
    configured = (provider.config or {}).get("list_max_bytes")
    if isinstance(configured, int) and not isinstance(configured, bool) and configured > 0:
        return configured
    wanted = LIST_BYTES_PER_ENTRY * max(int(expected or 0), 0)
    return min(max(wanted, MAX_BODY_BYTES), LIST_MAX_BODY_BYTES)


# --- metrics: every call timed, every failure counted (docs/metrics.md) ----------------

_ERROR_LABELS = ((ProviderUnavailable, "unavailable"), (ProviderTimeout, "timeout"), (BadResponse, "bad_response"))


def _action_label(provider: Provider, params: Mapping[str, object]) -> str:
    """The upstream action our code asked for (`action`, Get-SMS's `method`, or Kopeechka's last
    path segment): names from our adapters, never a customer's input; anything odd is `unknown`."""
    action = params.get("action") or params.get("method") or (provider.base_url or "").rstrip("/").rsplit("/", 1)[-1]
    return metrics.bounded(action)


def _observed(send: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(send)
    def observed(provider: Provider, params: Mapping[str, object], **kwargs) -> str:
        labels = {
            "provider": metrics.bounded(getattr(provider, "slot", None)),
            "action": _action_label(provider, params),
        }
        started = time.monotonic()
        try:
            return send(provider, params, **kwargs)
        except ProviderError as exc:
            error = next((label for kind, label in _ERROR_LABELS if isinstance(exc, kind)), "other")
            metrics.UPSTREAM_ERRORS.labels(error=error, **labels).inc()
            raise
        finally:
            metrics.UPSTREAM_SECONDS.labels(**labels).observe(time.monotonic() - started)

    return observed


@_observed
def call(
    provider: Provider,
    params: Mapping[str, object],
    *,
    timeout: float | None = None,
    key_param: str = "api_key",
    method: str = "GET",
    max_bytes: int | None = None,
) -> str:
    """Send one request to `provider.base_url` with our key as `key_param` and `params`, and
    return the body (UTF-8, undecodable bytes replaced, our key scrubbed should the upstream
    echo it: bodies end up in `raw`, messages and logs).

    GET puts everything in the query string; POST sends a form body (Get-SMS v1). `params`
    must not contain `key_param`; `None` values are left out. `timeout` overrides the
    provider's read timeout for this call, `max_bytes` the body cap (`MAX_BODY_BYTES`).
    Raises only `ProviderUnavailable`, `ProviderTimeout`, `BadResponse`.
    """
    if key_param in params:
        raise ValueError(f"call() adds the provider's {key_param} itself")
    if method not in ("GET", "POST"):
        raise ValueError(f"unsupported method {method}")
    url = provider.base_url
    fields = {key: str(value) for key, value in params.items() if value is not None}
    secret = provider.api_key
    register_secret(secret)  # masked in every log line and Sentry event of this process from now on
    shown = redact(f"{method} {url}?{key_param}=***&{urlencode(fields)}", secret)  # what logs and messages show
    try:  # the form and literal addresses; what a name resolves to is checked when connecting
        destinations.url_check(url, resolve=False)
    except destinations.RefusedDestination as exc:
        raise ProviderUnavailable(message=f"provider slot {provider.slot}: base_url refused: {exc}") from None
    read_timeout = read_timeout_of(provider) if timeout is None else float(timeout)
    connect_timeout = CONNECT_TIMEOUT
    left = time_left()
    if left is not None:
        if left <= 0:
            raise ProviderUnavailable(message=f"provider slot {provider.slot}: the purchase deadline has passed")
        connect_timeout, read_timeout = min(connect_timeout, left), min(read_timeout, left)
    started = time.monotonic()
    error: ProviderError | None = None
    payload = {key_param: secret, **fields}
    try:
        response = _session().request(
            method,
            url,
            params=payload if method == "GET" else None,
            data=payload if method == "POST" else None,
            timeout=(connect_timeout, read_timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.exceptions.RequestException as exc:
        error = _translate(exc, shown=shown, secret=secret)
    if error is not None:
        # Raised outside the handler: the requests exception (its message has the full URL, key included)
        # must not ride along as __context__ into a logged traceback.
        log.warning("upstream slot %s %s failed: %s", provider.slot, method, error)
        raise error
    left = time_left()
    if left is not None:  # the body gets what the headers left of the deadline
        read_timeout = max(min(read_timeout, left), 0.001)
    try:
        text = _read(response, shown=shown, secret=secret, read_timeout=read_timeout, limit=max_bytes or MAX_BODY_BYTES)
    except (BadResponse, ProviderTimeout) as failure:
        response.close()  # a half-read connection must not go back to the pool
        log.warning("upstream slot %s %s failed: %s", provider.slot, method, failure)
        raise
    response.raw.release_conn()  # read to the end: the connection can be reused (keep-alive)
    log.debug(
        "upstream slot %s %s -> %s, %d chars in %.0f ms",
        provider.slot,
        shown,
        response.status_code,
        len(text),
        (time.monotonic() - started) * 1000,
    )
    return text


def _translate(exc: requests.exceptions.RequestException, *, shown: str, secret: str) -> ProviderError:
    """Map a `requests` failure before the headers arrived onto sent / not sent."""
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3.exceptions.MaxRetryError) and cause.reason is not None:
        cause = cause.reason  # "Failed to resolve ...", "Connection refused": what the reader needs
    if not isinstance(cause, BaseException):
        cause = exc
    detail = redact(f"{type(cause).__name__}: {cause}", secret)
    not_sent = (
        requests.exceptions.ConnectTimeout,
        requests.exceptions.SSLError,
        requests.exceptions.ProxyError,
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.InvalidHeader,
    )
    if isinstance(exc, not_sent):
        return ProviderUnavailable(message=f"{shown}: {detail}")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return ProviderTimeout(message=f"{shown}: no answer in time")
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError) and isinstance(
            reason.reason, (NewConnectionError, ConnectTimeoutError)
        ):
            # Refused, unreachable, DNS failure (NameResolutionError is a NewConnectionError): nothing was sent.
            return ProviderUnavailable(message=f"{shown}: {detail}")
        # Reset or closed after the request went out ("Connection aborted."): unknown outcome.
        return ProviderTimeout(message=f"{shown}: connection lost: {detail}")
    return ProviderTimeout(message=f"{shown}: {detail}")


def _read(
    response: requests.Response, *, shown: str, secret: str, read_timeout: float, limit: int = MAX_BODY_BYTES
) -> str:
    status = response.status_code
    if 300 <= status < 400:
        location = redact(response.headers.get("Location", ""), secret)
        raise BadResponse(
            raw=f"HTTP {status} redirect to {location}",
            message=f"{shown}: HTTP {status} (not followed)",
            http_status=status,
        )
    if status >= 400 or status < 200:
        excerpt = _excerpt(response, secret=secret, read_timeout=read_timeout)
        raise BadResponse(
            raw=f"HTTP {status}: {excerpt}", message=f"{shown}: HTTP {status}: {excerpt}", http_status=status
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadResponse(raw=f"body of {declared} bytes", message=f"{shown}: body over {limit} bytes")
    body = _read_body(response, limit=limit, read_timeout=read_timeout, shown=shown)
    if body is None:
        raise BadResponse(raw=f"body over {limit} bytes", message=f"{shown}: body over {limit} bytes")
    return scrub(body.decode("utf-8", errors="replace"), secret)


def _excerpt(response: requests.Response, *, secret: str, read_timeout: float) -> str:
    try:
        body = _read_body(response, limit=4 * EXCERPT_CHARS, read_timeout=read_timeout, shown="", truncate=True)
    except ProviderTimeout:
        return ""
    text = " ".join((body or b"").decode("utf-8", errors="replace").split())
    return redact(text[:EXCERPT_CHARS], secret)


def _read_body(
    response: requests.Response, *, limit: int, read_timeout: float, shown: str, truncate: bool = False
) -> bytes | None:
    """Read the body against a deadline of `read_timeout` from now; None if it exceeds `limit`
    (or its first `limit` bytes when `truncate`).

    `read1` returns as soon as any bytes arrive, so the deadline is checked
    between small reads, and each socket wait is cut to what is left of it.
    """
    raw = response.raw
    deadline = time.monotonic() + read_timeout
    chunks: list[bytes] = []
    size = 0
    error: ProviderError | None = None  # raised after the handler, without the urllib3 exception as context
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderTimeout(message=f"{shown}: body not complete after {read_timeout:g} s")
            sock = getattr(getattr(raw, "connection", None), "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(chunks)[:limit] if truncate else None
    except urllib3.exceptions.ReadTimeoutError:
        error = ProviderTimeout(message=f"{shown}: body not complete after {read_timeout:g} s")
    except urllib3.exceptions.DecodeError:
        error = BadResponse(raw="undecodable body", message=f"{shown}: undecodable content-encoding")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # Reset or truncated mid-body: the upstream answered, we could not read what: unknown outcome.
        error = ProviderTimeout(message=f"{shown}: connection lost mid-body ({type(exc).__name__})")
    if error is not None:
        raise error
    return b"".join(chunks)
