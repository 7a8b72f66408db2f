"""The e-mail catalogue: `EmailOffer` rows from a provider's `email_prices`, written by catalogue sync.

Same rules as the rent catalogue (upstream/rent_catalogue.py): the upstream is asked first, outside
any transaction; rows are written inside catalogue sync's transaction, only what changed, and this
provider's offers missing from the reply get stock 0. An offer is (domain, service): `service`
empty (ANY_SITE) prices a mailbox domain for any site (Kopeechka's zones, OTPGet's Server 2), a
service code prices it for that service (OTPGet's Server 1). Domains are lower-cased; a cost is
rounded up to 4 places (never under-priced).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from upstream.models import EmailOffer, Provider
from upstream.offer_rows import PriceFetch, offer_rows_write, prices_fetch
from upstream.providers.base import EmailPrice, ProviderClient

COST_QUANTUM = Decimal("0.0001")


def email_prices_fetch(client: ProviderClient) -> PriceFetch | None:
    """The client's e-mail prices; None where it sells no e-mails (a provider error is kept: offer_rows)."""
    return prices_fetch(client.supports_email, client.email_prices)


def _wanted(prices: list[EmailPrice]) -> tuple[dict[tuple[str, str], tuple[Decimal, int, str]], int]:
    wanted: dict[tuple[str, str], tuple[Decimal, int, str]] = {}
    skipped = 0
    for price in prices:
        domain = (price.domain or "").strip().lower()
        service = (price.service or "").strip()
        if not domain or len(domain) > 100 or len(service) > 64 or price.cost is None or Decimal(price.cost) < 0:
            skipped += 1
            continue
        cost = Decimal(price.cost).quantize(COST_QUANTUM, rounding=ROUND_CEILING)
        wanted[(domain, service)] = (cost, max(int(price.count), 0), (price.name or "")[:100])
    return wanted, skipped


def email_offers_write(*, provider: Provider, prices: list[EmailPrice]) -> dict[str, int]:
    """Upsert this provider's e-mail offers (call inside catalogue sync's transaction)."""
    wanted, skipped = _wanted(prices)
    return offer_rows_write(
        EmailOffer,
        provider_id=provider.pk,
        keys=("domain", "service"),
        values=("cost", "stock", "name"),
        wanted=wanted,
        skipped=skipped,
    )
