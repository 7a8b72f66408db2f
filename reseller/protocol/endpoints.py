"""The four compatibility endpoints: their actions and their error tables.

Each endpoint answers in its own dialect (see docs/protocol.md):
- handler_api.php and cheap_handler.php: bare tokens;
- rental-handler.php and email_handler.php: JSON with a string `status`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from accounts.errors import AccountBlocked
from billing.money import format_pkr
from reseller.orders import errors as act
from reseller.protocol.actions import activations, catalogue
from reseller.protocol.actions.balance import get_balance
from reseller.protocol.context import Call
from reseller.protocol.errors import (
    BadDate,
    BadId,
    BadKey,
    BadStatus,
    ErrorTable,
    RateLimited,
    UnknownAction,
    json_status,
    token,
)
from reseller.protocol.render import JSON_CONTENT_TYPE, TEXT_CONTENT_TYPE, Reply, Token
from upstream.providers.base import safe_raw

Action = Callable[[Call], Reply]

# Echoing a client's unknown action back is PHP's behaviour; a cap keeps a
# 10 KB action from being reflected whole.
MAX_ECHOED_ACTION = 100


@dataclass(frozen=True)
class Endpoint:
    name: str
    actions: Mapping[str, Action]
    errors: ErrorTable
    content_type: str = TEXT_CONTENT_TYPE  # of its replies (HEAD/OPTIONS answer with it, empty)


# The plain-text endpoints share their tokens for the common errors.
TOKEN_ERRORS = {
    BadKey: token("BAD_KEY"),
    AccountBlocked: token("ACCOUNT_BLOCKED"),
    UnknownAction: token("BAD_ACTION"),
    RateLimited: token("TOO_MANY_REQUESTS"),
}


def _provider_error(exc: act.ProviderFailed):
    """ERROR_PROVIDER_<slot>:<raw>: the upstream's token (NO_NUMBERS, ERROR_SQL, ...), `HTTP <status>`,
    or BAD_RESPONSE for anything else: never a foreign body (`upstream.providers.base.safe_raw`)."""
    return Token(f"ERROR_PROVIDER_{exc.slot}", (safe_raw(exc.raw) or "ERROR",))


HANDLER_API = Endpoint(
    name="handler_api",
    actions={
        "getBalance": get_balance,
        "getBalanceAndCashBack": get_balance,
        "getCountries": catalogue.get_countries,
        "getServices": catalogue.get_services,
        "getServicesList": catalogue.get_services_list,
        "getPrices": catalogue.get_prices,
        "getNumbersStatus": catalogue.get_numbers_status,
        "getTopCountriesByService": catalogue.get_top_countries_by_service,
        "getOperators": catalogue.get_operators,
        "getNumber": activations.get_number,
        "getNumberV2": activations.get_number_v2,
        "getStatus": activations.get_status,
        "getStatusV2": activations.get_status_v2,
        "getFullSms": activations.get_full_sms,
        "setStatus": activations.set_status,
        "getActiveActivations": activations.get_active_activations,
        "getHistory": activations.get_history,
    },
    errors=ErrorTable(
        entries={
            **TOKEN_ERRORS,
            act.UnknownService: token("BAD_SERVICE"),
            act.UnknownCountry: token("BAD_COUNTRY"),
            act.UnknownProviderSlot: token("BAD_TYPE"),
            BadId: token("BAD_ID"),
            BadStatus: token("BAD_STATUS"),
            act.OrderNotFound: token("NO_ACTIVATION"),
            act.NoNumbers: token("NO_NUMBERS"),
            act.InsufficientFunds: token("NO_BALANCE"),
            act.PriceAboveLimit: lambda exc: Token("WRONG_MAX_PRICE", (format_pkr(exc.min_price),)),
            act.DuplicateOrder: token("ORDER_ALREADY_EXISTS"),
            act.TooEarlyToCancel: token("EARLY_CANCEL_DENIED"),
            act.NoCodeYet: token("NO_SMS_RECEIVED"),
            act.OrderAlreadyEnded: token("STATUS_ALREADY_CHANGED"),
            act.PriceChanged: token("ERROR_PRICE_CHANGE"),
            act.ProviderFailed: _provider_error,
            BadDate: token("WRONG_DATE"),
        },
        generic=token("ERROR_SQL"),
    ),
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
            RateLimited: json_status("429", "Too many requests."),
        },
        generic=json_status("500", "Database error: internal error"),
    ),
    content_type=JSON_CONTENT_TYPE,
)

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
