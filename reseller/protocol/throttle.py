"""Abuse limits of the four endpoints (docs/protocol.md "Limits", decisions.md "Abuse limits").

- `check_ip`: the caller's IP is within `RATE_LIMIT_PER_IP` and not locked out;
- `check_key`: the key is within `RATE_LIMIT_PER_KEY`, and it is not a key already
  found unknown in the last `UNKNOWN_KEY_CACHE_SECONDS` (answered BAD_KEY without a query);
- `key_unknown`: after the lookup found nobody: remember the key's digest and count it
  against the IP; `RATE_LIMIT_BAD_KEYS_PER_IP` unknown keys lock the IP out for that
  window, during which no key from it is looked up at all (every call answers the limit reply).

Counters are fixed windows of the `limits` library in the storage at
`RATE_LIMIT_STORAGE_URL`: the Redis of REDIS_URL in production (one counter for all
gunicorn workers), `memory://` (this process) in the embedded run. Each window starts at
its first hit. Only digests and addresses are stored, never a key. IPv6 callers are
counted per /64 (one host's share of addresses).

The limits fail open: if the storage errs or does not answer within 250 ms, the request
is served unlimited, the failure is logged, and this process leaves the storage alone for
`OUTAGE_BYPASS_SECONDS` (so an outage costs one timeout per process, not one per request).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from functools import lru_cache

from django.conf import settings
from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from reseller.protocol.errors import BadKey, RateLimited

log = logging.getLogger(__name__)

STORAGE_TIMEOUT_SECONDS = 0.25
OUTAGE_BYPASS_SECONDS = 5.0
_REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "valkey://", "valkeys://")


# --- configuration -----------------------------------------------------------------


@lru_cache(maxsize=64)
def parse_rate(text: str | None) -> tuple[RateLimitItem, ...]:
    """`"50/second"`, `"20/10minutes"`, `"50/second;1000/minute"` -> limits; empty, `0` or an amount
    of 0 -> none (that limit is off). Raises ValueError on anything else (settings validate at start-up)."""
    text = (text or "").strip()
    if text in ("", "0"):
        return ()
    return tuple(item for item in parse_many(text) if item.amount > 0)


# --- the storage, per process, failing open ------------------------------------------


class _Storage:
    def __init__(self):
        self.lock = threading.Lock()
        self.key: tuple[int, str] | None = None
        self.limiter: FixedWindowRateLimiter | None = None
        self.down_until = 0.0

    def limiter_for(self, url: str) -> FixedWindowRateLimiter:
        key = (os.getpid(), url)  # a forked worker builds its own connection pool
        with self.lock:
            if self.key != key or self.limiter is None:
                options = {}
                if url.startswith(_REDIS_SCHEMES):
                    options = {
                        "socket_timeout": STORAGE_TIMEOUT_SECONDS,
                        "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS,
                    }
                self.limiter = FixedWindowRateLimiter(storage_from_string(url, **options))
                self.key, self.down_until = key, 0.0
            return self.limiter


_storage = _Storage()


def _run(operation):
    """`operation(limiter)`, or None when the storage is down (fail open)."""
    if time.monotonic() < _storage.down_until:
        return None
    try:
        return operation(_storage.limiter_for(settings.RATE_LIMIT_STORAGE_URL))
    except Exception:  # noqa: BLE001 - a limiter outage must never block the API
        _storage.down_until = time.monotonic() + OUTAGE_BYPASS_SECONDS
        log.warning(
            "rate-limit storage unavailable: API limits are off in this process for %.0f s",
            OUTAGE_BYPASS_SECONDS,
            exc_info=True,
        )
        return None


def reset() -> None:
    """Forget every counter (tests; an operator can also run it from `manage.py shell`)."""
    _storage.down_until = 0.0
    _storage.limiter_for(settings.RATE_LIMIT_STORAGE_URL).storage.reset()


# --- identities ------------------------------------------------------------------------


def _ip_id(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "-"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _lock_item(window: RateLimitItem) -> RateLimitItem:
    """A marker: set once, it holds for the window's length."""
    return RateLimitItemPerSecond(1, window.get_expiry())


# --- the checks ----------------------------------------------------------------------


def check_ip(ip: str) -> None:
    """Raises RateLimited when the IP is over its rate or locked out after too many unknown keys."""
    per_ip = parse_rate(settings.RATE_LIMIT_PER_IP)
    bad_keys = parse_rate(settings.RATE_LIMIT_BAD_KEYS_PER_IP)
    if not per_ip and not bad_keys:
        return
    ident = _ip_id(ip)

    def check(limiter: FixedWindowRateLimiter) -> str | None:
        if not all([limiter.hit(item, "api-ip", ident) for item in per_ip]):
            return "rate"
        if not all(limiter.test(_lock_item(item), "api-locked", ident) for item in bad_keys):
            return "locked"
        return None

    refused = _run(check)
    if refused:
        log.debug("refused %s: %s", ident, "over the per-IP rate" if refused == "rate" else "locked out")
        raise RateLimited()


def check_key(key_digest: str, ip: str) -> None:
    """Raises RateLimited when the key is over its rate; BadKey (no query needed) when the key was found
    unknown lately: that counts as one more unknown key of the IP."""
    per_key = parse_rate(settings.RATE_LIMIT_PER_KEY)
    remember = settings.UNKNOWN_KEY_CACHE_SECONDS
    if not per_key and remember <= 0:
        return

    def check(limiter: FixedWindowRateLimiter) -> str | None:
        if not all([limiter.hit(item, "api-key", key_digest) for item in per_key]):
            return "rate"
        if remember > 0 and not limiter.test(RateLimitItemPerSecond(1, remember), "api-unknown-key", key_digest):
            return "unknown"
        return None

    refused = _run(check)
    if refused == "rate":
        raise RateLimited()
    if refused == "unknown":
        key_unknown(key_digest, ip, remembered=True)
        raise BadKey()


def key_unknown(key_digest: str, ip: str, *, remembered: bool = False) -> None:
    """The key belongs to nobody: remember it (unless it already was) and count it against the IP."""
    remember = settings.UNKNOWN_KEY_CACHE_SECONDS
    bad_keys = parse_rate(settings.RATE_LIMIT_BAD_KEYS_PER_IP)
    if remember <= 0 and not bad_keys:
        return
    ident = _ip_id(ip)

    def record(limiter: FixedWindowRateLimiter) -> list[RateLimitItem]:
        if remember > 0 and not remembered:
            limiter.hit(RateLimitItemPerSecond(1, remember), "api-unknown-key", key_digest)
        tripped = []
        for item in bad_keys:
            limiter.hit(item, "api-bad-keys", ident)
            if not limiter.test(item, "api-bad-keys", ident):  # this was the N-th unknown key: lock out
                limiter.hit(_lock_item(item), "api-locked", ident)
                tripped.append(item)
        return tripped

    if remember > 0 or bad_keys:
        for item in _run(record) or ():
            log.warning("API: %s locked out for %d s after %d unknown API keys", ident, item.get_expiry(), item.amount)
