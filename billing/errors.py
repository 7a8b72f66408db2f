from billing.money import InvalidAmount

__all__ = [
    "BalanceOutOfRange",
    "BillingError",
    "HoldAlreadyResolved",
    "HoldExpired",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidAmount",
]


class BillingError(Exception):
    """Base of the ledger's domain errors."""


class InsufficientFunds(BillingError):
    """The wallet's available balance (balance minus open holds) is too low."""


class BalanceOutOfRange(BillingError):
    """The transfer would carry an account's balance (or held sum) past the ledger columns' range."""


class IdempotencyConflict(BillingError):
    """An idempotency key was reused for a different operation."""


class HoldAlreadyResolved(BillingError):
    """The hold was already captured or released."""

    def __init__(self, status: str):
        super().__init__(f"hold already {status}")
        self.status = status


class HoldExpired(BillingError):
    """The hold's expiry has passed: it can only be released."""
