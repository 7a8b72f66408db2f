"""Reads of SMS-Activate's rent actions on handler_api.php (docs/rentals.md): which periods the
catalogue rents, the offer per service for a country and period, and a renewal's price."""

from dataclasses import dataclass
from decimal import Decimal

from reseller.models import Rental
from reseller.rentals.purchase import renewal_candidates, rent_candidates
from upstream.models import Country, Service
from upstream.selectors import sellable_rent_offers

FULL = "full"  # SMS-Activate's code for the number for every service


def rent_periods(*, country_id: int | None = None) -> list[int]:
    """The periods (hours) some enabled provider rents with stock, shortest first (switched-on
    countries and services only)."""
    rows = sellable_rent_offers().filter(stock__gt=0)
    if country_id is not None:
        rows = rows.filter(country_id=country_id)
    return sorted(set(rows.values_list("hours", flat=True)))


def sold_period(hours: int, periods: list[int]) -> int | None:
    """The shortest period sold that is at least `hours` (a rental is never shorter than asked);
    None above the longest."""
    return next((p for p in periods if p >= hours), None)


@dataclass(frozen=True)
class RentLine:
    code: str  # the service's code, or "full"
    price: Decimal  # the sell price, PKR
    quant: int  # numbers in stock over the healthy providers


def rent_catalogue(*, customer_id: int, country: Country, hours: int) -> list[RentLine]:
    """One line per service rented in `country` for `hours` (the full number first), priced for
    this customer at the cheapest healthy provider."""
    service_ids = set(
        sellable_rent_offers().filter(country=country, hours=hours, stock__gt=0).values_list("service_id", flat=True)
    )
    services: list[Service | None] = [None] if None in service_ids else []
    services += list(Service.objects.filter(pk__in=service_ids - {None}).order_by("code"))
    lines = []
    for service in services:
        found = rent_candidates(customer_id=customer_id, country=country, service=service, hours=hours)
        if found:
            lines.append(
                RentLine(
                    code=service.code if service else FULL,
                    price=found[0].quote.price,
                    quant=sum(c.offer.stock for c in found),
                )
            )
    return lines


def renewal_price(rental: Rental, hours: int) -> Decimal | None:
    """What renewing `rental` by `hours` costs now at its own provider (as rental_renew charges);
    None when that provider does not rent the period."""
    found = renewal_candidates(rental, hours)
    return found[0].quote.price if found else None


def renewal_periods(rental: Rental) -> list[int]:
    """The periods the rental's provider rents for its country and service (none once either is
    switched off: a renewal is a sale)."""
    rows = sellable_rent_offers().filter(provider_id=rental.provider_id, country_id=rental.country_id, stock__gt=0)
    rows = rows.filter(service__isnull=True) if rental.service_id is None else rows.filter(service_id=rental.service_id)
    return sorted(set(rows.values_list("hours", flat=True)))
