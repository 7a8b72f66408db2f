class AccountsError(Exception):
    """Base of the accounts app's domain errors."""


class AccountBlocked(AccountsError):
    """The customer is blocked (or inactive) and may not use the API or spend."""


class StaffAccount(ValueError):
    """Staff users (is_staff or is_superuser) run the business: no wallet, no API key."""
