"""Reads of rentals for the wire layer (both surfaces: rental-handler.php and SMS-Activate's rent
actions on handler_api.php, which are two views of one rental)."""

from reseller.models import Rental, RentalRenewal, RentalSms
from reseller.orders.errors import OrderNotFound
from upstream.models import RentOffer
from upstream.selectors import RENT_SELLABLE


def rentals_of(*, customer_id: int, live_only: bool = False) -> list[Rental]:
    """The customer's rentals that were handed out (not failed or unknown purchases), newest first."""
    rows = Rental.objects.filter(customer_id=customer_id).exclude(
        state__in=(Rental.State.REQUESTING, Rental.State.FAILED, Rental.State.UNKNOWN)
    )
    if live_only:
        rows = rows.filter(state=Rental.State.ACTIVE)
    return list(rows.select_related("provider", "service", "country").order_by("-id"))


def rental_of(*, customer_id: int, rental_id: int) -> Rental:
    """The customer's rental by our id; OrderNotFound for anyone else's (or a purchase that sold nothing)."""
    rental = (
        Rental.objects.select_related("provider", "service", "country")
        .filter(pk=rental_id, customer_id=customer_id)
        .exclude(state__in=(Rental.State.REQUESTING, Rental.State.FAILED, Rental.State.UNKNOWN))
        .first()
    )
    if rental is None:
        raise OrderNotFound()
    return rental


def rental_messages(rental: Rental, *, newest_first: bool = True) -> list[RentalSms]:
    order = ("-id",) if newest_first else ("id",)
    return list(RentalSms.objects.filter(rental=rental).order_by(*order))


def rental_renewals(rental: Rental) -> list[RentalRenewal]:
    return list(RentalRenewal.objects.filter(rental=rental, state=RentalRenewal.State.DONE).order_by("id"))


def full_rent_offers(*, provider_id: int, hours: tuple[int, ...], country_id: int | None = None) -> list[RentOffer]:
    """A provider's whole-number rent offers with stock for those periods (rental-handler.php
    rents whole numbers only), by country and period; switched-on countries only."""
    rows = RentOffer.objects.filter(
        RENT_SELLABLE, provider_id=provider_id, service__isnull=True, hours__in=hours, stock__gt=0
    )
    if country_id is not None:
        rows = rows.filter(country_id=country_id)
    return list(rows.select_related("country").order_by("country_id", "hours"))
