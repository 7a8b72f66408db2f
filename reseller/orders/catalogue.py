"""Reads of what a customer can buy and at what price, for the wire layer's catalogue actions.

Prices are always the customer's sell prices in PKR (markup applied), the cheapest enabled
provider's unless a provider slot is named; counts are summed over providers. Only switched-on
services and countries are listed (upstream.selectors.sellable_offers): a switched-off one is
absent, as if no provider sold it.
"""

from dataclasses import dataclass
from decimal import Decimal

from billing.pricing import PriceBook
from upstream.models import Country, Service
from upstream.selectors import sellable_offers


@dataclass
class Cell:
    """One (country, service): the cheapest sell price and the total stock."""

    price: Decimal
    count: int


def sell_price_table(
    *, customer_id: int, country_id=None, service_id=None, slot=None, in_stock=True
) -> dict[tuple[int, int], Cell]:
    """{(country_id, service_id): Cell} from the sellable offers, one query + one for rules."""
    offers = sellable_offers().select_related("provider")
    if in_stock:
        offers = offers.filter(stock__gt=0)
    if country_id is not None:
        offers = offers.filter(country_id=country_id)
    if service_id is not None:
        offers = offers.filter(service_id=service_id)
    if slot is not None:
        offers = offers.filter(provider__slot=slot)
    book = PriceBook.load(customer_id=customer_id)
    table: dict[tuple[int, int], Cell] = {}
    for o in offers.iterator(chunk_size=2000):
        price = book.quote(
            cost_pkr=o.provider.to_pkr(o.cost),
            provider_id=o.provider_id,
            country_id=o.country_id,
            service_id=o.service_id,
        ).price
        cell = table.get((o.country_id, o.service_id))
        if cell is None:
            table[(o.country_id, o.service_id)] = Cell(price, max(o.stock, 0))
        else:
            cell.price = min(cell.price, price)
            cell.count += max(o.stock, 0)
    return table


def services_by_id(ids) -> dict[int, Service]:
    return {s.pk: s for s in Service.objects.filter(pk__in=set(ids))}


def all_countries() -> list[Country]:
    """Every switched-on country (getCountries)."""
    return list(Country.objects.filter(enabled=True).order_by("pk"))


def countries_offered(*, slot: int | None = None) -> list[Country]:
    """Countries with sellable offers at enabled providers (at `slot` only, when given), by name."""
    offers = sellable_offers()
    if slot is not None:
        offers = offers.filter(provider__slot=slot)
    return list(Country.objects.filter(pk__in=offers.values("country_id")).order_by("name"))


def country_ids_offered() -> set[int]:
    """Every switched-on country with a sellable offer at an enabled provider."""
    return set(sellable_offers().values_list("country_id", flat=True).distinct().order_by())


def services_offered(*, country: Country | None = None) -> list[Service]:
    """Every switched-on service by code; with `country`, those with sellable offers there at
    enabled providers."""
    services = Service.objects.filter(enabled=True).order_by("code")
    if country is not None:
        services = services.filter(pk__in=sellable_offers().filter(country=country).values("service_id"))
    return list(services)
