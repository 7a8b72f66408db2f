"""The four compatibility endpoints: their actions and their error tables.

Each endpoint answers in its own dialect (see docs/protocol.md):
- handler_api.php and cheap_handler.php: bare tokens;
- rental-handler.php and email_handler.php: JSON with a string `status`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from accounts.errors import AccountBlocked
from reseller.protocol.actions.balance import get_balance
from reseller.protocol.context import Call
from reseller.protocol.errors import BadKey, ErrorTable, UnknownAction, json_status, token
from reseller.protocol.render import Reply

Action = Callable[[Call], Reply]

# Echoing a client's unknown action back is PHP's behaviour; a cap keeps a
# 10 KB action from being reflected whole.
MAX_ECHOED_ACTION = 100


@dataclass(frozen=True)
class Endpoint:
    name: str
    actions: Mapping[str, Action]
    errors: ErrorTable


# The plain-text endpoints share their tokens for the common errors.
TOKEN_ERRORS = {
    BadKey: token("BAD_KEY"),
    AccountBlocked: token("ACCOUNT_BLOCKED"),
    UnknownAction: token("BAD_ACTION"),
}

HANDLER_API = Endpoint(
    name="handler_api",
    actions={
        "getBalance": get_balance,
    },
    errors=ErrorTable(entries={**TOKEN_ERRORS}, generic=token("ERROR_SQL")),
)

CHEAP_HANDLER = Endpoint(
    name="cheap_handler",
    actions={
        "getBalance": get_balance,
    },
    errors=ErrorTable(entries={**TOKEN_ERRORS}, generic=token("DATABASE_ERROR")),
)

RENTAL_HANDLER = Endpoint(
    name="rental_handler",
    actions={},
    errors=ErrorTable(
        entries={
            BadKey: json_status("401", "Invalid API key."),
            AccountBlocked: json_status("403", "Account is blocked or inactive."),
            UnknownAction: json_status("400", lambda exc: f"Unknown action: {exc.action[:MAX_ECHOED_ACTION]}"),
        },
        generic=json_status("500", "Database error: internal error"),
    ),
)

EMAIL_HANDLER = Endpoint(
    name="email_handler",
    actions={},
    errors=ErrorTable(
        entries={
            BadKey: json_status("401", "BAD_KEY"),
            AccountBlocked: json_status("403", "ACCOUNT_BLOCKED"),
            UnknownAction: json_status("400", "BAD_ACTION"),
        },
        generic=json_status("500", "Database error"),
    ),
)
