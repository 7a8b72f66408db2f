"""Domain errors of ordering, for every order kind. They say what went wrong in the domain's
words; each endpoint's error table (reseller/protocol/endpoints/) turns them into its tokens
or JSON. `InsufficientFunds` is the ledger's own error, raised through unchanged."""

from billing.errors import InsufficientFunds

__all__ = [
    "InsufficientFunds",
    "OrderError",
    "UnknownService",
    "UnknownCountry",
    "UnknownProviderSlot",
    "OrderNotFound",
    "NoNumbers",
    "PriceAboveLimit",
    "DuplicateOrder",
    "TooEarlyToCancel",
    "NoCodeYet",
    "OrderAlreadyEnded",
    "PriceChanged",
    "ProviderFailed",
    "UnknownCheapType",
    "UnknownCheapServer",
    "NoCheapServers",
    "NoCheapServices",
]


class OrderError(Exception):
    pass


class UnknownService(OrderError):
    """No service with that code or id."""


class UnknownCountry(OrderError):
    """No country with that number (or none given where one is required)."""


class UnknownProviderSlot(OrderError):
    """A provider slot (OTPGet's `type`) that is not 1-6, or is empty or disabled."""


class OrderNotFound(OrderError):
    """No such order of this customer: an unknown id and another customer's are indistinguishable."""


class NoNumbers(OrderError):
    """No provider sold a number for the request."""


class PriceAboveLimit(OrderError):
    """Every offer costs more than the customer's limit (`maxPrice`)."""

    def __init__(self, min_price):
        super().__init__(f"the cheapest offer costs {min_price}")
        self.min_price = min_price


class DuplicateOrder(OrderError):
    """The customer's order reference (getNumberV2 `orderId`) was used before."""


class TooEarlyToCancel(OrderError):
    """A cancel within the first CANCEL_GRACE_SECONDS (or while the purchase is still running)."""


class NoCodeYet(OrderError):
    """Finishing (or asking for another SMS) before any code arrived."""


class OrderAlreadyEnded(OrderError):
    """The order is over (`state` says how): nothing changes any more."""

    def __init__(self, state: str = ""):
        super().__init__(f"the order already ended ({state or 'unknown'})")
        self.state = state


class PriceChanged(OrderError):
    """The upstream charged more than quoted and the customer cannot cover it: cancelled."""


class ProviderFailed(OrderError):
    """The last provider tried answered with an error (`raw`, the upstream's words)."""

    def __init__(self, slot: int, raw: str):
        super().__init__(f"provider {slot}: {raw}")
        self.slot = slot
        self.raw = raw


# --- cheap numbers -------------------------------------------------------------------------


class UnknownCheapType(OrderError):
    """A cheap `type` other than the ones that exist (1, 2)."""


class UnknownCheapServer(OrderError):
    """A cheap server that is missing, unknown, disabled, or of another type."""


class NoCheapServers(OrderError):
    """No enabled cheap server of the requested type."""


class NoCheapServices(OrderError):
    """The cheap server sells nothing now (or not the requested service)."""
