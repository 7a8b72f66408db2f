"""Operators: `Operator` rows from a provider's `operators()` (its own `getOperators` on the
SMS-Activate protocol, seeds/004), written by catalogue sync.

Same rules as the other catalogues (upstream/offer_rows.py): the upstream is asked first, outside
any transaction, and a failed list only leaves this provider's operators as they were; rows are
written inside catalogue sync's transaction. Countries go through the mapping table where the
client has codes of its own (`native_codes` False); an entry naming a country we do not know, or
an operator code that is empty or over 50 characters, is skipped. Operators the upstream no longer
lists are removed (a purchase naming one must not be routed there); the others are marked seen.
"""

from __future__ import annotations

from django.utils import timezone

from upstream.models import Country, CountryMapping, Operator, Provider
from upstream.offer_rows import BATCH_SIZE, PriceFetch, prices_fetch
from upstream.providers.base import OperatorEntry, ProviderClient

MAX_CODE = 50


def operators_fetch(client: ProviderClient) -> PriceFetch | None:
    """The client's operators (in `prices`); None where its protocol has no operator list."""
    return prices_fetch(True, client.operators)


def _wanted(provider: Provider, *, native: bool, entries: list[OperatorEntry]) -> tuple[dict, int]:
    country_map = dict(
        CountryMapping.objects.filter(provider=provider, country__isnull=False).values_list(
            "upstream_code", "country_id"
        )
    )
    countries = set(Country.objects.values_list("id", flat=True))
    wanted: dict[tuple[int, str], str] = {}
    skipped = 0
    for entry in entries:
        country = country_map.get(str(entry.country), entry.country if native else None)
        code = (entry.code or "").strip().lower()
        if country not in countries or not code or len(code) > MAX_CODE:
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
    now = timezone.now()
    Operator.objects.bulk_create(
        [
            Operator(provider=provider, country_id=country, code=code, name=name)
            for (country, code), name in wanted.items()
            if (country, code) not in existing
        ],
        batch_size=BATCH_SIZE,
    )
    seen = [pk for key, (pk, _) in existing.items() if key in wanted]
    for start in range(0, len(seen), BATCH_SIZE):
        Operator.objects.filter(pk__in=seen[start : start + BATCH_SIZE]).update(updated_at=now)
    renamed = [
        Operator(pk=pk, name=wanted[key])
        for key, (pk, name) in existing.items()
        if key in wanted and name != wanted[key]
    ]
    Operator.objects.bulk_update(renamed, ["name"], batch_size=BATCH_SIZE)
    gone = [pk for key, (pk, _) in existing.items() if key not in wanted]
    for start in range(0, len(gone), BATCH_SIZE):
        Operator.objects.filter(pk__in=gone[start : start + BATCH_SIZE]).delete()
    return {
        "created": len(wanted) - len(seen),
        "seen": len(seen),
        "removed": len(gone),
        "skipped": skipped,
    }
