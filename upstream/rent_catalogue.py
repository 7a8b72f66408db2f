"""The rent catalogue: `RentOffer` rows from a provider's `rent_prices`, written by catalogue sync.

Same rules as activation offers (upstream/services.py): the upstream is asked first, outside any
transaction; the rows are written inside catalogue sync's transaction, only what changed (batched
inserts and updates), and this provider's rent offers missing from the reply get stock
0. Codes go through the mapping tables where the client has codes of its own (`native_codes`
False); FULL_RENT is `service` null. A cost is rounded up to 4 places (never under-priced).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.utils import timezone

from upstream.models import Country, CountryMapping, Provider, RentOffer, Service, ServiceMapping
from upstream.providers.base import FULL_RENT, ProviderClient, ProviderError, RentPrice, Unsupported, error_summary

BATCH_SIZE = 5000
COST_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class RentFetch:
    """What the upstream said: its prices, or why there are none (`error`: an error summary)."""

    prices: list[RentPrice] | None
    error: str = ""


def rent_prices_fetch(client: ProviderClient) -> RentFetch | None:
    """The client's rent prices; None where it does not rent. A provider error is kept, not raised:
    the activation catalogue is synced all the same and the rent offers are left as they were."""
    if not client.supports_rent:
        return None
    try:
        return RentFetch(prices=client.rent_prices())
    except Unsupported:
        return None
    except ProviderError as exc:
        return RentFetch(prices=None, error=error_summary(exc))


def _translate(provider: Provider, *, native: bool, prices: list[RentPrice]) -> tuple[dict, int]:
    """{(country id, service id | None, hours): (cost, stock)} in our codes, and how many were skipped."""
    service_map = dict(
        ServiceMapping.objects.filter(provider=provider, service__isnull=False).values_list(
            "upstream_code", "service__code"
        )
    )
    country_map = dict(
        CountryMapping.objects.filter(provider=provider, country__isnull=False).values_list(
            "upstream_code", "country_id"
        )
    )
    countries = set(Country.objects.values_list("id", flat=True))
    codes = {service_map.get(p.service, p.service if native else None) for p in prices}
    services = dict(Service.objects.filter(code__in={c for c in codes if c}).values_list("code", "id"))
    wanted: dict[tuple[int, int | None, int], tuple[Decimal, int]] = {}
    skipped = 0
    for price in prices:
        country = country_map.get(str(price.country), price.country if native else None)
        if price.service == FULL_RENT:
            service_id = None
        else:
            code = service_map.get(price.service, price.service if native else None)
            service_id = services.get(code) if code else None
            if service_id is None:
                skipped += 1
                continue
        if country not in countries or price.hours <= 0:
            skipped += 1
            continue
        cost = Decimal(price.cost).quantize(COST_QUANTUM, rounding=ROUND_CEILING)
        wanted[(country, service_id, int(price.hours))] = (cost, max(int(price.count), 0))
    return wanted, skipped


def rent_offers_write(*, provider: Provider, native: bool, prices: list[RentPrice]) -> dict[str, int]:
    """Upsert this provider's rent offers (call inside catalogue sync's transaction)."""
    wanted, skipped = _translate(provider, native=native, prices=prices)
    existing = {
        (country_id, service_id, hours): (pk, cost, stock)
        for pk, country_id, service_id, hours, cost, stock in RentOffer.objects.filter(provider=provider).values_list(
            "pk", "country_id", "service_id", "hours", "cost", "stock"
        )
    }
    changed = [key for key, value in wanted.items() if key not in existing or existing[key][1:] != value]
    now = timezone.now()
    # New rows inserted, changed ones updated by id (no ON CONFLICT: a full rental's null service
    # is matched by a partial unique index, which ON CONFLICT cannot name on every database).
    RentOffer.objects.bulk_create(
        [
            RentOffer(
                provider_id=provider.pk,
                country_id=country,
                service_id=service,
                hours=hours,
                cost=wanted[(country, service, hours)][0],
                stock=wanted[(country, service, hours)][1],
            )
            for country, service, hours in changed
            if (country, service, hours) not in existing
        ],
        batch_size=BATCH_SIZE,
    )
    RentOffer.objects.bulk_update(
        [
            RentOffer(pk=existing[key][0], cost=wanted[key][0], stock=wanted[key][1], updated_at=now)
            for key in changed
            if key in existing
        ],
        ["cost", "stock", "updated_at"],
        batch_size=BATCH_SIZE,
    )
    gone = [pk for key, (pk, _, stock) in existing.items() if key not in wanted and stock != 0]
    for start in range(0, len(gone), BATCH_SIZE):
        RentOffer.objects.filter(pk__in=gone[start : start + BATCH_SIZE]).update(stock=0, updated_at=now)
    created = sum(1 for key in changed if key not in existing)
    return {
        "created": created,
        "updated": len(changed) - created,
        "unchanged": len(wanted) - len(changed),
        "zeroed": len(gone),
        "skipped": skipped,
    }
