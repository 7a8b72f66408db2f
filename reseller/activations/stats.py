"""Purchase statistics of activations, for handler_api.php getListOfTopCountriesByService."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from reseller.models import Activation, OrderKind

STATS_WINDOW = timedelta(days=30)
# Orders that never became a number are no purchases.
NOT_BOUGHT = (Activation.State.REQUESTING, Activation.State.FAILED, Activation.State.UNKNOWN)


@dataclass(frozen=True)
class CountryShare:
    country_id: int
    share: int  # % of the service's purchases (all customers, the window) made in this country
    rate: int  # % of this country's purchases of the service that received an SMS


def _percent(part: int, whole: int) -> int:
    """Rounded half up, as an integer; 0 of nothing."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def top_countries_by_service(*, service_id: int) -> list[CountryShare]:
    """Every country where the service was bought in the last 30 days (every customer's
    activations), the largest share first (then the better rate, then the lower country id).
    Switched-off countries are left out (not sold: not advertised)."""
    since = timezone.now() - STATS_WINDOW
    rows = list(
        Activation.objects.filter(
            kind=OrderKind.ACTIVATION, service_id=service_id, created_at__gte=since, country__enabled=True
        )
        .exclude(state__in=NOT_BOUGHT)
        .values("country_id")
        .annotate(bought=Count("id"), received=Count("id", filter=Q(sms_at__isnull=False)))
    )
    total = sum(row["bought"] for row in rows)
    shares = [
        CountryShare(
            country_id=row["country_id"],
            share=_percent(row["bought"], total),
            rate=_percent(row["received"], row["bought"]),
        )
        for row in rows
    ]
    return sorted(shares, key=lambda s: (-s.share, -s.rate, s.country_id))
