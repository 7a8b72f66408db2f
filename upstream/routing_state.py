"""Routing inputs cached per process, and the live provider health read once per request
(docs/operations.md, "Purchase path").

What routing reads that an operator or catalogue sync changes (offers, services, countries, the
code mapping tables, markup rules, a provider's configuration) changes seldom; what the machine
changes on every purchase (a provider's health) is read live. One statement per request reads both
the health of every enabled provider and the routing version: a number that a statement-level
trigger on each of those tables replaces in the writer's own transaction (migration
`upstream.0011_routing_version`), whatever wrote (the ORM, a bulk `update()`, the admin, catalogue
sync, raw SQL, another process). A process keeps its cached inputs while the version it reads is
the one they were built under, and drops them all at the first request that reads another, so the
next purchase after a committed change sees it, in every process.

The number comes from a sequence, so it is never reused, not even after a rolled-back change; a
cache is built only from reads made after the version was read, so it is never older than its
version. Without the trigger (a database other than PostgreSQL: the embedded run) nothing is
cached and every request reads its inputs, as before.

Inside `request_scope()` (the protocol view wraps every call) the state is read at most once;
outside one, every call reads it (commands, tasks and tests always see the latest).
"""

import copy
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from billing.pricing import PriceBook, default_markup_percent, enabled_rules
from upstream.models import Country, Offer, Provider, Service

# Keep at most this many entries per kind of look-up (a version change empties them all anyway).
MAX_ENTRIES = 5000

# The table name comes from model metadata.
_STATE_SQL = (
    "SELECT v.version, p.id, p.success_rate, p.latency_ms, p.attempts_seen, p.consecutive_failures, "  # noqa: S608
    "p.circuit_open_until FROM upstream_routing_version v "
    f"LEFT JOIN {Provider._meta.db_table} p ON p.enabled"
)
HEALTH_FIELDS = ("success_rate", "latency_ms", "attempts_seen", "consecutive_failures", "circuit_open_until")


@dataclass(frozen=True)
class Health:
    success_rate: float
    latency_ms: float
    attempts_seen: int
    consecutive_failures: int
    circuit_open_until: datetime | None


@dataclass(frozen=True)
class State:
    """The routing version (None: caching off) and the live health of every enabled provider."""

    version: int | None
    health: dict[int, Health]


_local = threading.local()
_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "entries": {}}


def _read_state() -> State:
    if connection.vendor != "postgresql":
        return State(version=None, health={})
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL)
        rows = cursor.fetchall()
    health = {row[1]: Health(*row[2:]) for row in rows if row[1] is not None}
    return State(version=rows[0][0] if rows else None, health=health)


def routing_state() -> State:
    """The state for this request: read once inside a `request_scope`, else on every call."""
    scope = getattr(_local, "scope", None)
    if scope is not None and scope.get("state") is not None:
        return scope["state"]
    state = _read_state()
    if scope is not None:
        scope["state"] = state
    return state


@contextmanager
def request_scope():
    """Read the routing state at most once until the block ends (one API request)."""
    previous = getattr(_local, "scope", None)
    if previous is not None:  # already inside one: the outer scope decides
        yield
        return
    _local.scope = {}
    try:
        yield
    finally:
        _local.scope = None


def _cached(kind: str, key, build: Callable[[], Any]):
    """`build()` cached under the current routing version; built fresh, uncached, without one."""
    version = routing_state().version
    if version is None:
        return build()
    with _lock:
        if _cache["version"] != version:
            _cache["version"], _cache["entries"] = version, {}
        entries = _cache["entries"].setdefault(kind, {})
        if key in entries:
            return entries[key]
    value = build()  # outside the lock: a database read
    with _lock:
        if _cache["version"] == version:
            entries = _cache["entries"].setdefault(kind, {})
            if len(entries) >= MAX_ENTRIES:
                entries.clear()
            entries[key] = value
    return value


def cache_clear() -> None:
    """Forget every cached input (tests that change the clock or the settings routing reads)."""
    with _lock:
        _cache["version"], _cache["entries"] = None, {}


# --- the cached look-ups ---------------------------------------------------------------------------


def service_by_code_or_id(value: str) -> Service | None:
    """upstream.selectors.service_by_code_or_id (switched-on services only), cached."""
    from upstream import selectors

    return _cached("service", (value or "").strip(), lambda: selectors.service_by_code_or_id(value))


def country_get(value) -> Country | None:
    """upstream.selectors.country_get (switched-on countries only), cached."""
    from upstream import selectors

    return _cached("country", value, lambda: selectors.country_get(value))


def provider_by_slot(slot) -> Provider | None:
    """upstream.selectors.provider_by_slot (enabled providers only), cached."""
    from upstream import selectors

    return _cached("slot", slot, lambda: selectors.provider_by_slot(slot))


def _with_health(provider: Provider, health: Health | None) -> Provider:
    fresh = copy.copy(provider)
    fresh._state = copy.copy(provider._state)
    if health is not None:
        for name in HEALTH_FIELDS:
            setattr(fresh, name, getattr(health, name))
    return fresh


def offers_for(*, service_id: int, country_id: int | None, provider_slot: int | None = None) -> list[Offer]:
    """upstream.selectors.offers_for as a list, its providers carrying this request's live health
    (each request gets its own copies: nothing shared is ever changed). An offer of a provider
    that is no longer enabled by now is left out."""
    from upstream import selectors

    state = routing_state()
    offers = _cached(
        "offers",
        (service_id, country_id, provider_slot),
        lambda: list(selectors.offers_for(service_id=service_id, country_id=country_id, provider_slot=provider_slot)),
    )
    if state.version is None:
        return offers  # read just now: health included
    providers: dict[int, Provider] = {}
    result = []
    for offer in offers:
        if offer.provider_id not in state.health:
            continue
        provider = providers.get(offer.provider_id)
        if provider is None:
            provider = providers[offer.provider_id] = _with_health(offer.provider, state.health[offer.provider_id])
        mine = copy.copy(offer)
        mine._state = copy.copy(offer._state)
        mine._state.fields_cache = {**offer._state.fields_cache, "provider": provider}
        result.append(mine)
    return result


def upstream_codes(*, provider_ids, service_id: int, country_ids) -> dict:
    """upstream.selectors.upstream_codes, cached."""
    from upstream import selectors

    pids, cids = frozenset(provider_ids), frozenset(country_ids)
    return _cached(
        "codes",
        (pids, service_id, cids),
        lambda: selectors.upstream_codes(provider_ids=pids, service_id=service_id, country_ids=cids),
    )


def price_book(*, customer_id: int | None) -> PriceBook:
    """PriceBook.load(customer_id=...), from the enabled rules read once per routing version."""
    if routing_state().version is None:
        return PriceBook.load(customer_id=customer_id)
    rules = _cached("rules", None, enabled_rules)
    percent = default_markup_percent()  # a setting: read each time, part of the key
    return _cached(
        "book", (customer_id, percent), lambda: PriceBook(customer_id=customer_id, rules=rules, default_percent=percent)
    )
