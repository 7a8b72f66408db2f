"""rental-handler.php: OTPGet's long-term rentals (JSON; docs/rentals.md, "rental-handler.php").
Every error is `{"status":"<code>","message":"<text>"}` with the messages decided in
upstream.providers.otpget_rental_wire.MESSAGES (the document's error table)."""

from accounts.errors import AccountBlocked
from reseller.orders import errors as act
from reseller.protocol.actions import rentals
from reseller.protocol.endpoints.base import MAX_ECHOED_ACTION, Endpoint
from reseller.protocol.errors import BadKey, ErrorTable, RateLimited, UnknownAction, json_status
from reseller.protocol.render import JSON_CONTENT_TYPE
from reseller.rentals.errors import BadDuration, NoRentalPricing, RenewalInProgress, RentalServerUnavailable
from upstream.providers.otpget_rental_wire import MESSAGES


def _bad_duration(exc: BadDuration) -> str:
    return MESSAGES["server2_monthly"] if exc.server == 2 else MESSAGES["bad_duration"]


RENTAL_HANDLER = Endpoint(
    name="rental_handler",
    actions={
        "getRentalCountries": rentals.get_rental_countries,
        "getRentalPricing": rentals.get_rental_pricing,
        "getAvailableRentals": rentals.get_available_rentals,
        "rentNumber": rentals.rent_number,
        "getMyRentals": rentals.get_my_rentals,
        "getRentalSMS": rentals.get_rental_sms,
        "renewRental": rentals.renew_rental,
    },
    errors=ErrorTable(
        entries={
            BadKey: json_status("401", MESSAGES["bad_key"]),
            AccountBlocked: json_status("403", MESSAGES["blocked"]),
            UnknownAction: json_status(
                "400", lambda exc: MESSAGES["unknown_action"].format(action=exc.action[:MAX_ECHOED_ACTION])
            ),
            RateLimited: json_status("429", "Too many requests."),
            rentals.MissingParam: json_status("400", lambda exc: MESSAGES["required"].format(param=exc.param)),
            rentals.BadProvider: json_status("400", MESSAGES["bad_provider"]),
            BadDuration: json_status("400", _bad_duration),
            act.InsufficientFunds: json_status("402", MESSAGES["no_balance"]),
            act.PriceChanged: json_status("402", MESSAGES["no_balance"]),  # the upstream's dearer price
            NoRentalPricing: json_status("404", MESSAGES["no_pricing"]),
            act.NoNumbers: json_status("404", MESSAGES["no_pricing"]),  # no stock: nothing priced to sell
            act.OrderNotFound: json_status("404", MESSAGES["not_found"]),
            act.OrderAlreadyEnded: json_status("400", MESSAGES["not_active"]),
            RentalServerUnavailable: json_status(
                "503", lambda exc: MESSAGES["unavailable"].format(provider=exc.server)
            ),
            rentals.ServerError: json_status(
                "502", lambda exc: MESSAGES["server_error"].format(provider=exc.server, detail=exc.raw)
            ),
            RenewalInProgress: json_status("502", "Renewal in progress; retry with the same request_id."),
        },
        generic=json_status("500", MESSAGES["database"].format(detail="internal error")),
    ),
    content_type=JSON_CONTENT_TYPE,
)
