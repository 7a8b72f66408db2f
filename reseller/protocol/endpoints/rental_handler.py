"""rental-handler.php: OTPGet's long-term rentals (JSON)."""

from accounts.errors import AccountBlocked
from reseller.protocol.endpoints.base import MAX_ECHOED_ACTION, Endpoint
from reseller.protocol.errors import BadKey, ErrorTable, RateLimited, UnknownAction, json_status
from reseller.protocol.render import JSON_CONTENT_TYPE

RENTAL_HANDLER = Endpoint(
    name="rental_handler",
    actions={},
    errors=ErrorTable(
        entries={
            BadKey: json_status("401", "Invalid API key."),
            AccountBlocked: json_status("403", "Account is blocked or inactive."),
            UnknownAction: json_status("400", lambda exc: f"Unknown action: {exc.action[:MAX_ECHOED_ACTION]}"),
            RateLimited: json_status("429", "Too many requests."),
        },
        generic=json_status("500", "Database error: internal error"),
    ),
    content_type=JSON_CONTENT_TYPE,
)
