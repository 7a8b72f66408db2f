"""The e-mail catalogue: `EmailOffer` rows from a provider's `email_prices`, written by catalogue sync.

Same rules as the rent catalogue (upstream/rent_catalogue.py): the upstream is asked first, outside
any transaction; rows are written inside catalogue sync's transaction, only what changed, and this
provider's offers missing from the reply get stock 0. An offer is (domain, service): `service`
empty (ANY_SITE) prices a mailbox domain for any site (Kopeechka's zones, OTPGet's Server 2), a
service code prices it for that service (OTPGet's Server 1). Domains are lower-cased; a cost is
rounded up to 4 places (never under-priced).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.utils import timezone

from upstream.models import EmailOffer, Provider
from upstream.providers.base import EmailPrice, ProviderClient, ProviderError, Unsupported, error_summary

BATCH_SIZE = 5000
COST_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class EmailFetch:
    """What the upstream said: its prices, or why there are none (`error`: an error summary)."""

    prices: list[EmailPrice] | None
    error: str = ""


def email_prices_fetch(client: ProviderClient) -> EmailFetch | None:
    """The client's e-mail prices; None where it sells no e-mails. A provider error is kept, not
    raised: the rest of the catalogue is synced all the same and the e-mail offers left as they were."""
    if not client.supports_email:
        return None
    try:
        return EmailFetch(prices=client.email_prices())
    except Unsupported:
        return None
    except ProviderError as exc:
        return EmailFetch(prices=None, error=error_summary(exc))


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
    existing = {
        (domain, service): (pk, cost, stock, name)
        for pk, domain, service, cost, stock, name in EmailOffer.objects.filter(provider=provider).values_list(
            "pk", "domain", "service", "cost", "stock", "name"
        )
    }
    changed = [key for key, value in wanted.items() if key not in existing or existing[key][1:] != value]
    now = timezone.now()
    EmailOffer.objects.bulk_create(
        [
            EmailOffer(
                provider_id=provider.pk,
                domain=domain,
                service=service,
                cost=wanted[(domain, service)][0],
                stock=wanted[(domain, service)][1],
                name=wanted[(domain, service)][2],
            )
            for domain, service in changed
            if (domain, service) not in existing
        ],
        batch_size=BATCH_SIZE,
    )
    EmailOffer.objects.bulk_update(
        [
            EmailOffer(
                pk=existing[key][0], cost=wanted[key][0], stock=wanted[key][1], name=wanted[key][2], updated_at=now
            )
            for key in changed
            if key in existing
        ],
        ["cost", "stock", "name", "updated_at"],
        batch_size=BATCH_SIZE,
    )
    gone = [pk for key, (pk, _, stock, _) in existing.items() if key not in wanted and stock != 0]
    for start in range(0, len(gone), BATCH_SIZE):
        EmailOffer.objects.filter(pk__in=gone[start : start + BATCH_SIZE]).update(stock=0, updated_at=now)
    created = sum(1 for key in changed if key not in existing)
    return {
        "created": created,
        "updated": len(changed) - created,
        "unchanged": len(wanted) - len(changed),
        "zeroed": len(gone),
        "skipped": skipped,
    }
