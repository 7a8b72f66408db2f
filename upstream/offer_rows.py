"""What the rent and e-mail catalogues share (upstream/rent_catalogue.py, upstream/email_catalogue.py):
asking a client for a price list of one capability without failing the sync, and writing one
provider's offer rows keyed by a tuple of columns, only what changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils import timezone

from upstream.models import Country, CountryMapping
from upstream.providers.base import ProviderError, Unsupported, error_summary

BATCH_SIZE = 5000


@dataclass(frozen=True)
class PriceFetch:
    """What the upstream said: its prices, or why there are none (`error`: an error summary)."""

    prices: list | None
    error: str = ""


def prices_fetch(supported: bool, call: Callable[[], list]) -> PriceFetch | None:
    """`call()`'s price list; None where the client lacks the capability. A provider error is kept,
    not raised: the rest of the catalogue is synced all the same and these offers stay as they were."""
    if not supported:
        return None
    try:
        return PriceFetch(prices=call())
    except Unsupported:
        return None
    except ProviderError as exc:
        return PriceFetch(prices=None, error=error_summary(exc))


def country_resolver(provider, *, native: bool) -> Callable[[object], int | None]:
    """Our country id for one of the upstream's country codes: its mapping row, else (a client
    with SMS-Activate's numbering, `native`) the code itself; None for a country we do not know."""
    country_map = dict(
        CountryMapping.objects.filter(provider=provider, country__isnull=False).values_list(
            "upstream_code", "country_id"
        )
    )
    countries = set(Country.objects.values_list("id", flat=True))

    def resolve(code) -> int | None:
        country = country_map.get(str(code), code if native else None)
        return country if country in countries else None

    return resolve


def offer_rows_write(
    model, *, provider_id: int, keys: Sequence[str], values: Sequence[str], wanted: dict[tuple, tuple], skipped: int
) -> dict[str, int]:
    """Make `model`'s rows of this provider match `wanted` ({key columns: value columns}): new keys
    inserted, changed values updated by id (no ON CONFLICT: a key with a null column is matched by
    a partial unique index, which ON CONFLICT cannot name on every database), rows missing from
    `wanted` given stock 0. Counts of created, updated, unchanged, zeroed, skipped."""
    existing = {
        tuple(row[: len(keys)]): (row[len(keys)], tuple(row[len(keys) + 1 :]))
        for row in model.objects.filter(provider_id=provider_id).values_list(*keys, "pk", *values)
    }
    changed = [key for key, value in wanted.items() if key not in existing or existing[key][1] != value]
    now = timezone.now()
    model.objects.bulk_create(
        [
            model(
                provider_id=provider_id,
                **dict(zip(keys, key, strict=True)),
                **dict(zip(values, wanted[key], strict=True)),
            )
            for key in changed
            if key not in existing
        ],
        batch_size=BATCH_SIZE,
    )
    model.objects.bulk_update(
        [
            model(pk=existing[key][0], updated_at=now, **dict(zip(values, wanted[key], strict=True)))
            for key in changed
            if key in existing
        ],
        [*values, "updated_at"],
        batch_size=BATCH_SIZE,
    )
    stock = values.index("stock")
    gone = [pk for key, (pk, current) in existing.items() if key not in wanted and current[stock] != 0]
    for start in range(0, len(gone), BATCH_SIZE):
        model.objects.filter(pk__in=gone[start : start + BATCH_SIZE]).update(stock=0, updated_at=now)
    created = sum(1 for key in changed if key not in existing)
    return {
        "created": created,
        "updated": len(changed) - created,
        "unchanged": len(wanted) - len(changed),
        "zeroed": len(gone),
        "skipped": skipped,
    }
