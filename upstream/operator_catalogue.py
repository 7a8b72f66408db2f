"""Operators: `Operator` rows from a provider's `operators()` (its own `getOperators` on the
SMS-Activate protocol, SMS-Activate's API document), written by catalogue sync.

Same rules as the other catalogues (upstream/offer_rows.py): the upstream is asked first, outside
any transaction, and a failed list only leaves this provider's operators as they were; rows are
written inside catalogue sync's transaction. Countries go through the mapping table where the
client has codes of its own (`native_codes` False); an entry naming a country we do not know, or
an operator code that is empty or over 50 characters, is skipped. Operators the upstream no longer
lists are removed (a purchase naming one must not be routed there); the others are marked seen.
"""

from __future__ import annotations

from django.utils import timezone

from upstream.models import Operator, Provider
from upstream.offer_rows import BATCH_SIZE, PriceFetch, country_resolver, prices_fetch
from upstream.providers.base import OperatorEntry, ProviderClient

MAX_CODE = 50


def operators_fetch(client: ProviderClient) -> PriceFetch | None:
    """The client's operators (in `prices`); None where its client sends no operator (a listed
    operator must be one a purchase there can ask for)."""
    return prices_fetch(client.takes_operator, client.operators)


def _wanted(provider: Provider, *, native: bool, entries: list[OperatorEntry]) -> tuple[dict, int]:
    country_of = country_resolver(provider, native=native)
    wanted: dict[tuple[int, str], str] = {}
    skipped = 0
    for entry in entries:
        country = country_of(entry.country)
        code = (entry.code or "").strip().lower()
        if country is None or not code or len(code) > MAX_CODE:
            skipped += 1
            continue
        wanted[(country, code)] = (entry.name or "")[:100]
    return wanted, skipped


def operators_write(*, provider: Provider, native: bool, entries: list[OperatorEntry]) -> dict[str, int]:
    """Make this provider's Operator rows match `entries` (call inside catalogue sync's transaction).
    Counts of created, seen (already known), removed and skipped."""
    wanted, skipped = _wanted(provider, native=native, entries=entries)
    existing = {
        (country_id, code): (pk, name)
        for pk, country_id, code, name in Operator.objects.filter(provider=provider).values_list(
            "pk", "country_id", "code", "name"
        )
    }
    gone = [pk for key, (pk, _) in existing.items() if key not in wanted]
    for start in range(0, len(gone), BATCH_SIZE):
        Operator.objects.filter(pk__in=gone[start : start + BATCH_SIZE]).delete()
    seen = len(existing) - len(gone)
    Operator.objects.filter(provider=provider).update(updated_at=timezone.now())  # every row left was seen
    renamed = [
        Operator(pk=pk, name=wanted[key])
        for key, (pk, name) in existing.items()
        if key in wanted and name != wanted[key]
    ]
    Operator.objects.bulk_update(renamed, ["name"], batch_size=BATCH_SIZE)
    Operator.objects.bulk_create(
        [
            Operator(provider=provider, country_id=country, code=code, name=name)
            for (country, code), name in wanted.items()
            if (country, code) not in existing
        ],
        batch_size=BATCH_SIZE,
    )
    return {
        "created": len(wanted) - seen,
        "seen": seen,
        "removed": len(gone),
        "skipped": skipped,
    }
