"""An admin ends a rental, with a reason kept on it (and in the admin's history)."""

from reseller.models import Rental
from reseller.orders.errors import OrderAlreadyEnded, ProviderFailed
from reseller.rentals.errors import RentalCannotCancel
from reseller.rentals.lifecycle import refund_window_open, rental_cancel, rental_finish


def rental_end_by_admin(*, rental: Rental, actor, reason: str) -> str:
    """Cancel with a refund where the rules allow it (inside the window and the upstream refunds),
    else finish without one. Returns what happened, in words."""
    note = f"ended by admin {actor.get_username()}: {reason.strip()}"[:200]
    if rental.state != Rental.State.ACTIVE:
        return f"already {rental.state}"
    try:
        if refund_window_open(rental):
            try:
                rental_cancel(rental=rental, reason=note)
                return "cancelled and refunded"
            except (RentalCannotCancel, ProviderFailed):
                pass  # the upstream refuses or cannot be asked: no refund, finished instead
        rental_finish(rental=rental, reason=note)
        return "finished (no refund)"
    except OrderAlreadyEnded as exc:
        return f"already {exc.state}"
