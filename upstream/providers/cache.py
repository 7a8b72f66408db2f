"""A client's short-lived memory of catalogue replies (OTPGet and its cheap numbers).

One catalogue sync asks for countries, services and prices in turn; protocols whose catalogue is
one listing read per country or per server answer all three from the same replies, so a client
keeps each reply for `catalogue_cache_seconds` (Provider.config, default 60; 0 or less: never
kept). The memory lives in one client instance: a new client (every purchase, every sync) asks
again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_CACHE_SECONDS = 60.0


class ReplyCache:
    def __init__(self, config: Callable[[], Mapping[str, Any]]):
        self._config = config  # read at each call: the row's config may change under a client
        self._entries: dict[str, tuple[float, Any]] = {}

    def ttl(self) -> float:
        """`catalogue_cache_seconds`; not a number: the default."""
        try:
            return float(self._config().get("catalogue_cache_seconds", DEFAULT_CACHE_SECONDS))
        except (TypeError, ValueError):
            return DEFAULT_CACHE_SECONDS

    def get(self, key: str, fetch: Callable[[], T]) -> T:
        """`fetch()`, reused for `ttl()` seconds under `key`."""
        ttl = self.ttl()
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = fetch()
        if ttl > 0:
            self._entries[key] = (now, value)
        return value
