"""cheap_handler.php: OTPGet's cheap numbers (docs/cheap.md)."""

from reseller.protocol.actions.balance import get_balance
from reseller.protocol.endpoints.base import TOKEN_ERRORS, Endpoint
from reseller.protocol.errors import ErrorTable, token

CHEAP_HANDLER = Endpoint(
    name="cheap_handler",
    actions={
        "getBalance": get_balance,
    },
    errors=ErrorTable(entries={**TOKEN_ERRORS}, generic=token("DATABASE_ERROR")),
)
