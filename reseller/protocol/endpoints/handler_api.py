"""handler_api.php: SMS-Activate's protocol with OTPGet's `type` extension (docs/protocol.md)."""

from billing.money import format_pkr
from reseller.activations import extra
from reseller.orders import errors as act
from reseller.protocol.actions import activations, calls, catalogue, prices, rent, reuse
from reseller.protocol.actions.balance import get_balance
from reseller.protocol.endpoints.base import TOKEN_ERRORS, Endpoint
from reseller.protocol.errors import (
    BadDate,
    BadId,
    BadStatus,
    ErrorTable,
    MalformedId,
    WrongExceptionPhone,
    token,
)
from reseller.protocol.render import Token
from upstream.providers.base import safe_raw


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
        "getPricesExtended": prices.get_prices_extended,
        "getPricesVerification": prices.get_prices_verification,
        # The prices are already the customer's own (their markup rules are their "rank").
        "getTopCountriesByServiceRank": catalogue.get_top_countries_by_service,
        "getListOfTopCountriesByService": prices.get_list_of_top_countries_by_service,
        "getMultiServiceNumber": reuse.get_multi_service_number,
        "checkExtraActivation": reuse.check_extra_activation,
        "getExtraActivation": reuse.get_extra_activation,
        "getIncomingCallStatus": calls.get_incoming_call_status,
        "parseCall": calls.parse_call,
        # buyPartnerProduct is no action of ours: BAD_ACTION, the document's answer to a reseller
        # that is not verified.
        # SMS-Activate's rent API: its errors are its own JSON, caught inside (actions/rent.py).
        **rent.ACTIONS,
    },
    errors=ErrorTable(
        entries={
            **TOKEN_ERRORS,
            act.UnknownService: token("BAD_SERVICE"),
            act.UnknownCountry: token("BAD_COUNTRY"),
            act.UnknownProviderSlot: token("BAD_TYPE"),
            BadId: token("BAD_ID"),
            MalformedId: token("WRONG_ACTIVATION_ID"),
            WrongExceptionPhone: token("WRONG_EXCEPTION_PHONE"),
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
            extra.ExtraNotAvailable: token("RENEW_ACTIVATION_NOT_AVAILABLE"),
            extra.ExtraImpossible: token("NEW_ACTIVATION_IMPOSSIBLE"),
            extra.SimOffline: token("SIM_OFFLINE"),
            BadDate: token("WRONG_DATE"),
        },
        generic=token("ERROR_SQL"),
    ),
)
