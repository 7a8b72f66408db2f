"""cheap_handler.php: OTPGet's cheap numbers (docs/cheap.md)."""

from reseller.models import Activation
from reseller.orders import errors as act
from reseller.protocol.actions import cheap
from reseller.protocol.actions.balance import get_balance
from reseller.protocol.endpoints.base import TOKEN_ERRORS, Endpoint
from reseller.protocol.errors import BadId, BadStatus, ErrorTable, token
from reseller.protocol.render import Token


def _already_ended(exc: act.OrderAlreadyEnded) -> Token:
    """A status change on an order that already ended answers how it ended, and moves no money
    (clients retry): finished → ACCESS_FINISH; cancelled, expired, or a purchase that sold
    nothing → ACCESS_READY (the customer holds their money)."""
    return Token("ACCESS_FINISH" if exc.state == Activation.State.FINISHED else "ACCESS_READY")


CHEAP_HANDLER = Endpoint(
    name="cheap_handler",
    actions={
        "getBalance": get_balance,
        "getServers": cheap.get_servers,
        "getServices": cheap.get_services,
        "buyNumber": cheap.buy_number,
        "getStatus": cheap.get_status,
        "setStatus": cheap.set_status,
    },
    errors=ErrorTable(
        entries={
            **TOKEN_ERRORS,
            act.UnknownCheapType: token("BAD_TYPE"),
            act.UnknownCheapServer: token("BAD_SERVER"),
            act.NoCheapServers: token("NO_SERVERS"),
            act.NoCheapServices: token("NO_SERVICES"),
            BadId: token("BAD_ID"),
            BadStatus: token("BAD_STATUS"),
            act.OrderNotFound: token("NO_ACTIVATION"),
            act.InsufficientFunds: token("LOW_BALANCE"),
            act.PriceChanged: token("LOW_BALANCE"),  # the upstream's dearer price is more than the balance
            act.NoNumbers: token("NO_NUMBERS"),
            act.ProviderFailed: token("NO_NUMBERS"),  # an error or an unknown outcome: nothing charged
            act.TooEarlyToCancel: token("EARLY_CANCEL_DENIED"),
            act.NoCodeYet: token("NO_SMS_RECEIVED"),
            act.OrderAlreadyEnded: _already_ended,
        },
        generic=token("DATABASE_ERROR"),
    ),
)
