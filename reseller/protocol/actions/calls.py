"""Voice calls: getIncomingCallStatus and parseCall. No upstream of ours delivers calls (every
purchase is an SMS activation), so these give the document's "no call" answers for the customer's
activations: `"phone":false` (no call came), `NO_CALL`."""

from reseller.activations.purchase import activation_for_customer
from reseller.models import Activation
from reseller.orders.errors import OrderNotFound
from reseller.protocol.actions import inputs
from reseller.protocol.context import Call
from reseller.protocol.render import Json, Token

State = Activation.State
# getIncomingCallStatus's statuses: 2 new (live), 3 successfully finished, 4 cancelled,
# 5 returned (ended without a code and refunded without the customer cancelling).
CALL_STATUS = {
    State.REQUESTING: "2",
    State.ACTIVE: "2",
    State.CODE_RECEIVED: "2",
    State.WAITING_RETRY: "2",
    State.FINISHED: "3",
    State.CANCELLED: "4",
    State.EXPIRED: "5",
    State.FAILED: "5",
    State.UNKNOWN: "5",
}
CANCELLED = (State.CANCELLED, State.EXPIRED, State.FAILED, State.UNKNOWN)


def _mine(call: Call, name: str) -> Activation | None:
    raw = call.params.get(name)
    number = inputs.positive_int(raw) if raw is not None else None
    if number is None:
        return None
    try:
        return activation_for_customer(customer_id=call.principal.customer_id, activation_id=number)
    except OrderNotFound:
        return None


def get_incoming_call_status(call: Call) -> Json | Token:
    """`{"status":"2","phone":false}`; an unknown `activationId`: `INVALID_ACTIVATION_ID`."""
    activation = _mine(call, "activationId")
    if activation is None:
        return Token("INVALID_ACTIVATION_ID")
    return Json({"status": CALL_STATUS[activation.state], "phone": False})


def parse_call(call: Call) -> Json | Token:
    """A live activation: `NO_CALL`; cancelled, expired or failed: `STATUS_CANCEL`; unknown or
    finished ("does not exist or is not active"): `WRONG_ACTIVATION_ID`. `newLang` is not read."""
    activation = _mine(call, "id")
    if activation is None or activation.state == State.FINISHED:
        return Token("WRONG_ACTIVATION_ID")
    if activation.state in CANCELLED:
        return Token("STATUS_CANCEL")
    return Token("NO_CALL")
