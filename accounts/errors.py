class AccountsError(Exception):
    """Base of the accounts app's domain errors."""


class AccountBlocked(AccountsError):
    """The customer is blocked (or inactive) and may not use the API or spend."""
