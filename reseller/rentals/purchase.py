"""Renting a number: the order core's engine (reseller.orders.engine) with the rentals table's
adapter. A rental is paid up front: phase 3 captures the hold and books the upstream cost in
the same transaction that records the number (docs/rentals.md)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing.pricing import PriceBook, Quote
from reseller.models import Rental
from reseller.orders import money
from reseller.orders.engine import OrderAdapter, order_purchase
from reseller.orders.errors import OrderNotFound
from reseller.orders.routing import within_limit
from reseller.rentals.errors import NoRentalPricing
from upstream.health import circuit_open
from upstream.models import Country, Service
from upstream.providers import client_for
from upstream.providers.base import FULL_RENT, Rented, RentRequest, RentSetStatus
from upstream.selectors import rent_offers_for, upstream_codes

ORDER_REF_PREFIX = "rnt"
HOUR = 3600


def rental_ref(rental_id: int) -> str:
    return f"{ORDER_REF_PREFIX}{rental_id}"


@dataclass(frozen=True)
class RentCandidate:
    offer: object  # upstream.models.RentOffer: provider, country, service, hours, cost
    quote: Quote
    service_code: str  # the provider's code, FULL_RENT for a full rental
    country_code: int


@dataclass(frozen=True)
class RentalRequest:
    customer_id: int
    wallet_id: int
    country: Country
    service: Service | None  # None: the number for every service ("full")
    hours: int
    provider_slot: int | None = None  # a rental server's slot
    server: int | None = None  # rental-handler.php `provider`
    max_price: Decimal | None = None
    webhook_url: str = ""


def rent_candidates(
    *, customer_id: int, country: Country, service: Service | None, hours: int, provider_slot: int | None = None
) -> list[RentCandidate]:
    """Rent offers for (country, service, period) with stock, cheapest sell price first."""
    offers = list(
        rent_offers_for(
            country_id=country.pk,
            service_id=service.pk if service else None,
            hours=hours,
            provider_slot=provider_slot,
        )
    )
    now = timezone.now()
    healthy = [o for o in offers if not circuit_open(o.provider, now)]
    # The providers' own codes (a full rental has no service: id 0 matches no mapping row).
    codes = upstream_codes(
        provider_ids={o.provider_id for o in healthy}, service_id=service.pk if service else 0, country_ids={country.pk}
    )
    book = PriceBook.load(customer_id=customer_id)
    found = []
    for o in healthy:
        mapped_service, country_code = codes[(o.provider_id, country.pk)]
        service_code = (mapped_service or service.code) if service is not None else FULL_RENT
        found.append(
            RentCandidate(
                offer=o,
                quote=book.quote(
                    cost_pkr=o.provider.to_pkr(o.cost),
                    provider_id=o.provider_id,
                    country_id=country.pk,
                    service_id=service.pk if service else None,
                    product="rental",
                ),
                service_code=service_code,
                country_code=int(country_code) if country_code and country_code.lstrip("-").isdigit() else country.pk,
            )
        )
    found.sort(key=lambda c: (c.quote.price, -c.offer.provider.success_rate, -c.offer.provider.priority))
    return found


class RentalOrders(OrderAdapter):
    model = Rental
    pricing_product = "rental"

    def lifetime_seconds(self, order) -> int:
        return order.hours * HOUR

    def create(self, request: RentalRequest, first: RentCandidate) -> Rental:
        return Rental.objects.create(
            customer_id=request.customer_id,
            provider=first.offer.provider,
            service=request.service,
            country=request.country,
            server=request.server,
            hours=request.hours,
            price=first.quote.price,
            cost=first.offer.cost,
            cost_pkr=first.quote.cost_pkr,
            webhook_url=request.webhook_url,
        )

    def buy(self, order, candidate: RentCandidate, request: RentalRequest) -> Rented:
        return client_for(candidate.offer.provider).rent(
            RentRequest(
                country=candidate.country_code,
                service=candidate.service_code,
                hours=request.hours,
                max_price=candidate.offer.cost,
                order_ref=rental_ref(order.pk),
            )
        )

    def recorded(self, order, bought: Rented, now) -> dict:
        fields = {"activated_at": now}
        if bought.ends_at is not None:
            fields["expires_at"] = min(bought.ends_at, now + timedelta(seconds=order.hours * HOUR))
        return fields

    def cancel_bought(self, order, candidate: RentCandidate, upstream_id: str) -> None:
        client_for(candidate.offer.provider).rent_set_status(upstream_id, RentSetStatus.CANCEL)

    def settle(self, order) -> None:
        money.charge(
            order,
            memo=f"rental #{order.pk} ({order.hours} h)",
            cost_memo=f"rental #{order.pk} {order.service.code if order.service else 'full'}/{order.country_id}",
        )


ADAPTER = RentalOrders()


def rental_purchase(req: RentalRequest) -> Rental:
    """Rent one number: paid at once. Raises NoRentalPricing (nothing rents that), NoNumbers,
    PriceAboveLimit, InsufficientFunds, ProviderFailed, PriceChanged."""
    candidates = rent_candidates(
        customer_id=req.customer_id,
        country=req.country,
        service=req.service,
        hours=req.hours,
        provider_slot=req.provider_slot,
    )
    if not candidates:
        raise NoRentalPricing()
    return order_purchase(ADAPTER, req, within_limit(candidates, req.max_price))


def renewal_candidates(rental: Rental, hours: int) -> list[RentCandidate]:
    """What renewing `rental` by `hours` can be bought from: its own provider only, priced now."""
    return [
        c
        for c in rent_candidates(
            customer_id=rental.customer_id,
            country=rental.country,
            service=rental.service,
            hours=hours,
            provider_slot=rental.provider.slot,
        )
        if c.offer.provider_id == rental.provider_id
    ]


def rental_for_customer(*, customer_id: int, rental_id: int) -> Rental:
    rental = (
        Rental.objects.select_related("provider", "service", "country")
        .filter(pk=rental_id, customer_id=customer_id)
        .first()
    )
    if rental is None:
        raise OrderNotFound()
    return rental
