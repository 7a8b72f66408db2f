"""email_handler.php: OTPGet's temporary e-mails (JSON; docs/emails.md, "email_handler.php").
Every error is `{"status":"<code>","message":"<text>"}` with the document's error table's
messages (upstream.providers.otpget_email_wire.MESSAGES)."""

from accounts.errors import AccountBlocked
from reseller.emails.errors import EmailNoStock, EmailServerUnavailable, EmailServiceUnavailable
from reseller.orders import errors as act
from reseller.protocol.actions import emails
from reseller.protocol.endpoints.base import Endpoint
from reseller.protocol.errors import BadKey, ErrorTable, RateLimited, UnknownAction, json_status
from reseller.protocol.render import JSON_CONTENT_TYPE
from upstream.providers.otpget_email_wire import CANCELLED_STATUS, MESSAGES


def _need(exc: emails.NeedMore) -> str:
    return MESSAGES["no_balance"].format(need=exc.need, have=exc.have)


def _unavailable(exc: EmailServerUnavailable) -> str:
    return MESSAGES["disabled"] if exc.configured else MESSAGES["not_configured"]


EMAIL_HANDLER = Endpoint(
    name="email_handler",
    actions={
        "getEmailServices": emails.get_email_services,
        "buyEmail": emails.buy_email,
        "getEmailCode": emails.get_email_code,
        "cancelEmail": emails.cancel_email,
        "getEmailHistory": emails.get_email_history,
    },
    errors=ErrorTable(
        entries={
            BadKey: json_status("401", MESSAGES["bad_key"]),
            AccountBlocked: json_status("403", MESSAGES["blocked"]),
            UnknownAction: json_status("400", MESSAGES["unknown_action"]),
            RateLimited: json_status("429", "TOO_MANY_REQUESTS"),
            emails.MissingParam: json_status("400", lambda exc: MESSAGES["required"].format(param=exc.param)),
            emails.BadServer: json_status("400", MESSAGES["bad_server"]),
            emails.NeedMore: json_status("402", _need),
            EmailServiceUnavailable: json_status("404", MESSAGES["no_service"]),
            EmailNoStock: json_status("404", MESSAGES["no_stock"]),
            act.OrderNotFound: json_status("404", MESSAGES["not_found"]),
            act.OrderAlreadyEnded: json_status(CANCELLED_STATUS, MESSAGES["cancelled"]),
            act.ProviderFailed: json_status("500", MESSAGES["connection"]),
            act.NoNumbers: json_status("500", MESSAGES["no_email"]),
            act.PriceChanged: json_status("500", MESSAGES["no_email"]),
            EmailServerUnavailable: json_status("503", _unavailable),
        },
        generic=json_status("500", MESSAGES["database"]),
    ),
    content_type=JSON_CONTENT_TYPE,
)
