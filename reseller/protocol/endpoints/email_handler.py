"""email_handler.php: OTPGet's temporary e-mails (JSON)."""

from accounts.errors import AccountBlocked
from reseller.protocol.endpoints.base import Endpoint
from reseller.protocol.errors import BadKey, ErrorTable, RateLimited, UnknownAction, json_status
from reseller.protocol.render import JSON_CONTENT_TYPE

EMAIL_HANDLER = Endpoint(
    name="email_handler",
    actions={},
    errors=ErrorTable(
        entries={
            BadKey: json_status("401", "BAD_KEY"),
            AccountBlocked: json_status("403", "ACCOUNT_BLOCKED"),
            UnknownAction: json_status("400", "BAD_ACTION"),
            RateLimited: json_status("429", "TOO_MANY_REQUESTS"),
        },
        generic=json_status("500", "Database error"),
    ),
    content_type=JSON_CONTENT_TYPE,
)
