"""Domain errors of e-mail orders (the order core's own errors apply too: reseller.orders.errors)."""

from reseller.orders.errors import OrderError


class EmailServerUnavailable(OrderError):
    """email_handler.php's `server` N has no provider (`configured` False) or is switched off."""

    def __init__(self, server: int, *, configured: bool):
        super().__init__(f"e-mail server {server} {'disabled' if configured else 'not configured'}")
        self.server = server
        self.configured = configured


class EmailServiceUnavailable(OrderError):
    """No such service, or the server sells nothing for this service and domain."""


class EmailNoStock(OrderError):
    """The server sells this, but has no mailbox in stock now."""
