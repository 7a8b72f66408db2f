"""Domain errors of the activation protocol. Each maps to one wire token per
endpoint (reseller/protocol/endpoints.py); none carries wire syntax itself."""


class ActivationError(Exception):
    pass


class BadService(ActivationError):
    pass


class BadCountry(ActivationError):
    pass


class BadType(ActivationError):
    """`type` (provider slot) is not 1-6, or that slot is empty or disabled."""


class BadId(ActivationError):
    """The activation id parameter is missing."""


class BadStatus(ActivationError):
    pass


class NoActivation(ActivationError):
    """Unknown id, not a number, or another customer's activation (indistinguishable)."""


class NoNumbersAvailable(ActivationError):
    pass


class NoBalance(ActivationError):
    pass


class WrongMaxPrice(ActivationError):
    def __init__(self, min_price):
        super().__init__(f"the cheapest offer costs {min_price}")
        self.min_price = min_price


class OrderAlreadyExists(ActivationError):
    pass


class EarlyCancelDenied(ActivationError):
    pass


class NoSmsReceived(ActivationError):
    pass


class StatusAlreadyChanged(ActivationError):
    pass


class PriceChanged(ActivationError):
    """The upstream charged more than quoted and the customer cannot cover it: cancelled."""


class ProviderFailed(ActivationError):
    """The last provider tried answered with an error: ERROR_PROVIDER_<slot>:<raw>."""

    def __init__(self, slot: int, raw: str):
        super().__init__(f"provider {slot}: {raw}")
        self.slot = slot
        self.raw = raw


class BadDate(ActivationError):
    """getHistory: a start/end that is not a timestamp, or a range over 30 days."""
