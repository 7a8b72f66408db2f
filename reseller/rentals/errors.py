"""Domain errors of rentals (the order core's errors apply too)."""

from reseller.orders.errors import OrderError


class RentalCannotCancel(OrderError):
    """Past the refund window, an SMS came, it was renewed, or the upstream refuses the refund."""


class NoRentalPricing(OrderError):
    """No provider rents that country/service for that period (or the server has no provider)."""


class BadDuration(OrderError):
    """A period we do not sell, or one the server does not take (Server 2: monthly only)."""

    def __init__(self, server: int | None = None):
        super().__init__(f"duration not sold on server {server}")
        self.server = server


class RentalServerUnavailable(OrderError):
    """The rental server is not configured or disabled by an admin."""

    def __init__(self, server: int):
        super().__init__(f"rental server {server} unavailable")
        self.server = server


class RenewalInProgress(OrderError):
    """A renewal with the same request key is still being bought."""
