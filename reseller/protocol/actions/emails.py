"""email_handler.php's five actions (docs/emails.md, "email_handler.php").

The reply shapes are the ones decided in upstream.providers.otpget_email_wire (SHAPES): our
otpget-email client reads exactly these from another instance of this server. `server` is 1
(default) or 2 on every action; `email_id` is our order's id. Prices and balances are JSON numbers
with two decimals, `count` an integer, `status` a string.
"""

import re
from datetime import UTC, datetime

from billing.models import LedgerAccount
from billing.money import PKR_QUANTUM
from reseller.emails.errors import EmailServiceUnavailable
from reseller.emails.lifecycle import email_cancel
from reseller.emails.purchase import EmailPurchaseRequest, email_candidate, email_purchase
from reseller.emails.selectors import email_history, email_letters, email_of, server_domains, server_services
from reseller.emails.servers import email_server
from reseller.models import EmailOrder
from reseller.orders.errors import InsufficientFunds, OrderNotFound
from reseller.protocol.context import Call
from reseller.protocol.errors import ProtocolError
from reseller.protocol.render import Json
from upstream.models import EmailService
from upstream.providers.otpget_email_wire import (
    CANCELLED_MESSAGE,
    CANCELLED_STATUS,
    CODE_MESSAGE,
    DEFAULT_DOMAIN,
    H_CANCELLED,
    H_COMPLETED,
    H_WAITING,
    MESSAGES,
    OK,
    PER_PAGE,
    SERVER_2_SERVICE,
    WAITING,
)

_DIGITS = re.compile(r"[0-9]{1,18}")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,98}[a-z0-9])?")
State = EmailOrder.State
HISTORY_STATES = {
    State.ACTIVE: H_WAITING,
    State.RECEIVED: H_COMPLETED,
    State.CANCELLED: H_CANCELLED,
    State.EXPIRED: H_CANCELLED,
}


class MissingParam(ProtocolError):
    def __init__(self, param: str):
        super().__init__(param)
        self.param = param


class BadServer(ProtocolError):
    """`server` other than 1 or 2."""


class NeedMore(ProtocolError):
    """Insufficient balance, with what the order needs and what the customer has."""

    def __init__(self, need, have):
        super().__init__(f"need {need}, have {have}")
        self.need = need
        self.have = have


# --- parameters and formatting --------------------------------------------------------------------


def _param(call: Call, name: str) -> str:
    return (call.params.get(name) or "").strip()


def _required(call: Call, name: str) -> str:
    value = _param(call, name)
    if not value:
        raise MissingParam(name)
    return value


def _server(call: Call) -> int:
    raw = _param(call, "server") or "1"
    if raw not in ("1", "2"):
        raise BadServer()
    return int(raw)


def _domain(raw: str) -> str:
    """A mailbox domain as the catalogue keys it; an impossible one matches nothing (404)."""
    domain = raw.strip().lower()
    return domain if _DOMAIN.fullmatch(domain) else ""


def _money(amount):
    return amount.quantize(PKR_QUANTUM)


def _available(wallet_id: int):
    wallet = LedgerAccount.objects.only("balance", "held").get(pk=wallet_id)
    return _money(wallet.balance - wallet.held)


def utc_stamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _service_name(order: EmailOrder) -> str:
    return order.service.name if order.service_id else SERVER_2_SERVICE


def _messages(order: EmailOrder) -> list[dict]:
    return [
        {
            "id": str(letter.pk),
            "from": letter.sender,
            "subject": letter.subject,
            "code": letter.code,
            "text": letter.text,
            "received_at": utc_stamp(letter.received_at or letter.created_at),
        }
        for letter in email_letters(order)
    ]


def _order(call: Call) -> EmailOrder:
    raw = _required(call, "email_id")
    if not _DIGITS.fullmatch(raw):
        raise OrderNotFound()
    return email_of(customer_id=call.principal.customer_id, email_id=int(raw))


def _cancelled() -> Json:
    return Json({"status": CANCELLED_STATUS, "message": MESSAGES["cancelled"]})


# --- actions --------------------------------------------------------------------------------------


def get_email_services(call: Call) -> Json:
    """Server 1: the services on `domain` (default gmail.com); Server 2: the domains (`site` is
    accepted and does not change the prices: a mailbox costs the same whoever writes to it)."""
    number = _server(call)
    server = email_server(number)
    customer_id = call.principal.customer_id
    if number == 1:
        domain = _domain(_param(call, "domain") or DEFAULT_DOMAIN)
        services = [
            {
                "service_code": line.service.code,
                "service_name": line.service.name,
                "price": _money(line.price),
                "count": line.count,
            }
            for line in server_services(server=server, customer_id=customer_id, domain=domain)
        ]
        return Json({"status": OK, "services": services})
    domains = [
        {"domain": line.domain, "price": _money(line.price), "count": line.count}
        for line in server_domains(server=server, customer_id=customer_id)
    ]
    return Json({"status": OK, "domains": domains})


def buy_email(call: Call) -> Json:
    number = _server(call)
    if number == 1:
        code = _required(call, "service_id")
        domain = _domain(_param(call, "domain") or DEFAULT_DOMAIN)
        email_server(number)  # an unavailable server says so before an unknown service does
        service = (
            EmailService.objects.filter(code=code).first() or EmailService.objects.filter(code=code.lower()).first()
        )
        if service is None:
            raise EmailServiceUnavailable()
        site = service.site
    else:
        domain = _domain(_required(call, "domain"))
        service, site = None, _param(call, "site")[:200]
    request = EmailPurchaseRequest(
        customer_id=call.principal.customer_id,
        wallet_id=call.principal.wallet_id,
        server=number,
        domain=domain,
        service=service,
        site=site,
    )
    try:
        order = email_purchase(request)
    except InsufficientFunds:
        need = email_candidate(request).quote.price
        raise NeedMore(_money(need), _available(call.principal.wallet_id)) from None
    return Json(
        {
            "status": OK,
            "email_id": str(order.pk),
            "email": order.email,
            "service": _service_name(order),
            "domain": order.domain,
            "price": _money(order.price),
            "balance": _available(call.principal.wallet_id),
            "server": order.server,
        }
    )


def get_email_code(call: Call) -> Json:
    """From the database (the letter sync keeps it current): 200 with every letter, 202 while
    waiting, 300 once it ended without one."""
    order = _order(call)
    if order.state == State.RECEIVED:
        return Json({"status": OK, "email_id": str(order.pk), "email": order.email, "messages": _messages(order)})
    if order.state == State.ACTIVE:
        return Json({"status": WAITING, "message": MESSAGES["waiting"]})
    return _cancelled()


def cancel_email(call: Call) -> Json:
    """Waiting: cancelled and refunded (once the upstream confirms). A letter already came: its
    code is the answer, the order stays paid. Over already: 300."""
    order = _order(call)
    if order.state in (State.CANCELLED, State.EXPIRED):
        return _cancelled()
    price = order.price
    order = email_cancel(order=order)
    if order.state == State.RECEIVED:
        messages = _messages(order)
        code = next((m["code"] for m in messages if m["code"]), "")
        return Json({"status": OK, "message": CODE_MESSAGE, "code": code, "messages": messages})
    if order.state == State.CANCELLED:
        return Json(
            {
                "status": OK,
                "message": CANCELLED_MESSAGE,
                "refunded": _money(price),
                "balance": _available(call.principal.wallet_id),
            }
        )
    return _cancelled()


def get_email_history(call: Call) -> Json:
    """20 orders a page, newest first; a missing or unreadable `page` is page 1."""
    raw = _param(call, "page")
    page = int(raw) if _DIGITS.fullmatch(raw) and 0 < int(raw) < 10**9 else 1
    orders, total = email_history(customer_id=call.principal.customer_id, page=page, per_page=PER_PAGE)
    history = [
        {
            "email_id": str(o.pk),
            "email_address": o.email,
            "service": _service_name(o),
            "domain": o.domain,
            "price": _money(o.price),
            "status": HISTORY_STATES.get(o.state, H_CANCELLED),
            "code": o.first_code,
            "server": o.server,
            "created_at": utc_stamp(o.created_at),
        }
        for o in orders
    ]
    return Json({"status": OK, "page": page, "per_page": PER_PAGE, "total": total, "history": history})
