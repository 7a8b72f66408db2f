"""The rent catalogue: `RentOffer` rows from a provider's `rent_prices`, written by catalogue sync.

Same rules as activation offers (upstream/services.py): the upstream is asked first, outside any
transaction; the rows are written inside catalogue sync's transaction, only what changed (batched
inserts and updates), and this provider's rent offers missing from the reply get stock
0. Codes go through the mapping tables where the client has codes of its own (`native_codes`
False); FULL_RENT is `service` null. A cost is rounded up to 4 places (never under-priced).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from upstream.models import Provider, RentOffer, Service, ServiceMapping
from upstream.offer_rows import PriceFetch, country_resolver, offer_rows_write, prices_fetch
from upstream.providers.base import FULL_RENT, ProviderClient, RentPrice

COST_QUANTUM = Decimal("0.0001")


def rent_prices_fetch(client: ProviderClient) -> PriceFetch | None:
    """The client's rent prices; None where it does not rent (a provider error is kept: offer_rows)."""
    return prices_fetch(client.supports_rent, client.rent_prices)


def _translate(provider: Provider, *, native: bool, prices: list[RentPrice]) -> tuple[dict, int]:
    """{(country id, service id | None, hours): (cost, stock)} in our codes, and how many were skipped."""
    service_map = dict(
        ServiceMapping.objects.filter(provider=provider, service__isnull=False).values_list(
            "upstream_code", "service__code"
        )
    )
    country_of = country_resolver(provider, native=native)
    codes = {service_map.get(p.service, p.service if native else None) for p in prices}
    services = dict(Service.objects.filter(code__in={c for c in codes if c}).values_list("code", "id"))
    wanted: dict[tuple[int, int | None, int], tuple[Decimal, int]] = {}
    skipped = 0
    for price in prices:
        country = country_of(price.country)
        if price.service == FULL_RENT:
            service_id = None
        else:
            code = service_map.get(price.service, price.service if native else None)
            service_id = services.get(code) if code else None
            if service_id is None:
                skipped += 1
                continue
        if country is None or price.hours <= 0:
            skipped += 1
            continue
        cost = Decimal(price.cost).quantize(COST_QUANTUM, rounding=ROUND_CEILING)
        wanted[(country, service_id, int(price.hours))] = (cost, max(int(price.count), 0))
    return wanted, skipped


def rent_offers_write(*, provider: Provider, native: bool, prices: list[RentPrice]) -> dict[str, int]:
    """Upsert this provider's rent offers (call inside catalogue sync's transaction)."""
    wanted, skipped = _translate(provider, native=native, prices=prices)
    return offer_rows_write(
        RentOffer,
        provider_id=provider.pk,
        keys=("country_id", "service_id", "hours"),
        values=("cost", "stock"),
        wanted=wanted,
        skipped=skipped,
    )
