"""The actions of cheap_handler.php (docs/cheap.md), with their own parameter parsing.

Replies come from our database, except buyNumber's purchase: getStatus never calls an
upstream (the status sync does, in Celery). Domain errors go up unchanged; the endpoint's
error table (reseller/protocol/endpoints/cheap_handler.py) words them.
"""

import re

from django.conf import settings

from billing.money import format_pkr
from reseller.activations.lifecycle import Change
from reseller.activations.selectors import activation_status
from reseller.cheap.selectors import cheap_server, cheap_servers, cheap_services, cheap_type
from reseller.cheap.services import cheap_buy, cheap_cancel, cheap_finish, cheap_order
from reseller.models import Activation, CheapServer, OrderKind
from reseller.orders.errors import NoCheapServices, OrderNotFound, UnknownCheapServer, UnknownCheapType
from reseller.protocol.context import Call
from reseller.protocol.errors import BadId, BadStatus
from reseller.protocol.render import Json, Token
from upstream.models import Service
from upstream.selectors import service_by_code_or_id

State = Activation.State
ORDER_PREFIX = "ORD_"
# `ORD_12` (the prefix in any case) or bare `12`; at most 18 digits: always within bigint.
_ORDER_ID = re.compile(r"(?:[Oo][Rr][Dd]_)?([0-9]{1,18})")
_NUMBER = re.compile(r"-?[0-9]{1,18}")
MAX_ID = 2**63 - 1
FINISH, CANCEL = "finish", "cancel"
SET_STATUS = {3: FINISH, 6: FINISH, 8: CANCEL}


def order_wire_id(order: Activation) -> str:
    """A cheap order's id on the wire: `ORD_<pk>`."""
    return f"{ORDER_PREFIX}{order.pk}"


# --- parameters -------------------------------------------------------------------------------


def _given(call: Call, name: str) -> str | None:
    """The parameter's text, stripped; None when absent, not a string or empty."""
    raw = call.params.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip()


def _type(call: Call) -> int | None:
    """`type`: omitted or empty is None; anything but 1 or 2 is UnknownCheapType (BAD_TYPE)."""
    raw = _given(call, "type")
    if raw is None:
        return None
    if not _NUMBER.fullmatch(raw):
        raise UnknownCheapType()
    return cheap_type(int(raw))


def _server(call: Call) -> CheapServer:
    """`server` with `type`: BAD_TYPE first (a type not 1/2), then BAD_SERVER (missing, not
    digits, unknown, disabled, or of another type than the one given)."""
    type_ = _type(call)
    raw = _given(call, "server")
    if raw is None or not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        raise UnknownCheapServer()
    return cheap_server(server_id=int(raw), type=type_)


def _service(call: Call) -> Service | None:
    """buyNumber's optional `service`: our code (`tg`) or numeric id; an unknown one is
    NoCheapServices (NO_SERVICES), as one the server does not sell."""
    raw = _given(call, "service")
    if raw is None:
        return None
    found = service_by_code_or_id(raw)
    if found is None:
        raise NoCheapServices()
    return found


def _order_id(raw: str) -> int:
    """`ORD_<digits>` or bare digits; anything else is OrderNotFound (NO_ACTIVATION)."""
    found = _ORDER_ID.fullmatch(raw)
    number = int(found.group(1)) if found else 0
    if not 0 < number <= MAX_ID:
        raise OrderNotFound()
    return number


def _raw_id(call: Call) -> str:
    raw = _given(call, "id")
    if raw is None:
        raise BadId()
    return raw


def _status(call: Call) -> str:
    raw = _given(call, "status")
    number = int(raw) if raw is not None and _NUMBER.fullmatch(raw) else None
    if number not in SET_STATUS:
        raise BadStatus()
    return SET_STATUS[number]


# --- actions ----------------------------------------------------------------------------------


def get_servers(call: Call) -> Json:
    """`{"1":[{"id":"1","name":"..."}],"2":[...]}`: the enabled servers of `type` (or all)."""
    found = cheap_servers(type=_type(call))
    return Json({str(type_): [{"id": str(s.pk), "name": s.name} for s in servers] for type_, servers in found.items()})


def get_services(call: Call) -> Json:
    """`{"101":"Telegram — ₨86.40"}`: what the server sells, at the price buyNumber charges now."""
    server = _server(call)
    return Json(
        {
            str(item.service.pk): f"{item.service.name} \u2014 \u20a8{format_pkr(item.price)}"
            for item in cheap_services(server, customer_id=call.principal.customer_id)
        }
    )


def buy_number(call: Call) -> Token:
    """`ORD_<id>,<phone>,900`: the order id, the number, its lifetime in seconds."""
    server = _server(call)
    order = cheap_buy(
        customer_id=call.principal.customer_id,
        wallet_id=call.principal.wallet_id,
        server=server,
        service=_service(call),
    )
    return Token(f"{order_wire_id(order)},{order.phone},{settings.CHEAP_LIFETIME_SECONDS}")


def get_status(call: Call) -> Token:
    row = activation_status(
        customer_id=call.principal.customer_id, activation_id=_order_id(_raw_id(call)), kind=OrderKind.CHEAP
    )
    if row.state in (State.REQUESTING, State.ACTIVE):
        return Token("STATUS_WAIT_CODE")
    if row.state in (State.CODE_RECEIVED, State.FINISHED) and row.code:
        return Token("STATUS_OK", (row.code,))
    return Token("STATUS_CANCEL")


# What each outcome of a status change answers.
CHANGE_TOKENS = {Change.FINISHED: "ACCESS_FINISH", Change.CANCELLED: "ACCESS_READY"}


def set_status(call: Call) -> Token:
    """3 or 6: complete (its code came); 8: cancel and refund (after 2 minutes, before any
    code; an order whose code came ends charged instead). Checked in this order: the id
    given, the status, the order. An order that already ended raises OrderAlreadyEnded:
    the error table answers how it ended."""
    raw = _raw_id(call)
    what = _status(call)
    order = cheap_order(customer_id=call.principal.customer_id, order_id=_order_id(raw))
    change = cheap_finish(order=order) if what == FINISH else cheap_cancel(order=order)
    return Token(CHANGE_TOKENS[change])
