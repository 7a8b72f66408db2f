"""The state and protocol of the fake OTPGet `stubs/cheap_handler.php` (OTPGet's API document, "cheap_handler.php").

Bodies are the document's: `ACCESS_BALANCE:500.00`, `{"1":[{"id":"1","name":"Random Facebook - Free"}]}`,
`{"1":"Facebook \\u2014 \\u20a850.00"}` (PHP's `json_encode`: non-ASCII as `\\uXXXX`, `/` as `\\/`),
`ORD_<hex>_<n>,<number>,900`, `STATUS_WAIT_CODE`, `STATUS_OK:<code>`, `STATUS_CANCEL`, `ACCESS_READY`
(cancelled and refunded), `ACCESS_FINISH` and the tokens of its error table. `type` is 1 or 2 (its
BAD_TYPE: "Type value not 1 or 2"), required everywhere but getServers and getBalance.

Where the document is silent the fake decides: buyNumber takes an optional `service` (a service of
that server; unknown: `BAD_SERVICE`), without it the server's first service; a service with no stock
left is `NO_NUMBERS`; getServices lists every service of an active server with its price whatever
the stock (the document reports none); a cancel (8) after the OTP completes the order and answers
`ACCESS_FINISH` (the document allows a cancel "only if no OTP was received"); a second setStatus on an
ended order is `STATUS_ALREADY_CHANGED`; `expire(order id)` ends an order as its 15 minutes would.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from tests.fakes.sms_activate_state import JSON, TEXT, php_json

TYPES = {"1", "2"}
LIFETIME = 900
CENT = Decimal("0.01")


@dataclass
class CheapService:
    label: str
    price: Decimal
    count: int


@dataclass
class CheapServer:
    type: int
    name: str
    active: bool = True


@dataclass
class CheapOrder:
    id: str
    server: str
    service: str
    phone: str
    price: Decimal
    status: str = "waiting"  # waiting | code | cancelled | finished | expired
    code: str | None = None
    created: float = 0.0


class FakeOtpGetCheapState:
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("500")):
        self.api_key = api_key
        self.blocked = False
        self.early_cancel_seconds = 120.0  # the document: cancel only after 2 minutes
        self.lock = threading.RLock()
        self._balance = Decimal(balance)
        self._servers: dict[str, CheapServer] = {}
        self._services: dict[str, dict[str, CheapService]] = {}  # server id -> service id -> service
        self._orders: dict[str, CheapOrder] = {}
        self._ids = itertools.count(741)

    # --- test controls -----------------------------------------------------------

    @property
    def balance(self) -> Decimal:
        with self.lock:
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        with self.lock:
            self._balance = Decimal(value)

    def add_server(self, server_id: str, name: str, *, type: int = 1, active: bool = True) -> None:
        with self.lock:
            self._servers[str(server_id)] = CheapServer(type=int(type), name=name, active=active)
            self._services.setdefault(str(server_id), {})

    def set_service(
        self, server_id: str, service_id: str, label: str, price: Decimal | str | int, count: int = 10
    ) -> None:
        with self.lock:
            self._services[str(server_id)][str(service_id)] = CheapService(label, Decimal(price), int(count))

    def deliver_sms(self, order_id: str, code: str) -> None:
        with self.lock:
            order = self._orders[order_id]
            if order.status not in ("waiting", "code"):
                raise ValueError(f"order {order_id} is {order.status}")
            order.status, order.code = "code", code

    def expire(self, order_id: str) -> None:
        """The order's 15 minutes are over: without an OTP it ends cancelled and refunded."""
        with self.lock:
            order = self._orders[order_id]
            if order.status == "waiting":
                order.status = "expired"
                self._balance += order.price
            elif order.status == "code":
                order.status = "finished"

    @property
    def orders(self) -> dict[str, CheapOrder]:
        """A snapshot (copies), keyed by order id."""
        with self.lock:
            return copy.deepcopy(self._orders)

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        """(content type, body) for one request."""
        if params.get("api_key") != self.api_key:
            return TEXT, "BAD_KEY"
        if self.blocked:
            return TEXT, "ACCOUNT_BLOCKED"
        handler = getattr(self, f"_action_{params.get('action', '')}", None)
        if handler is None:
            return TEXT, "BAD_ACTION"
        with self.lock:
            reply = handler(params)
        return (JSON, php_json(reply)) if isinstance(reply, (dict, list)) else (TEXT, reply)

    def _server(self, params: dict[str, str]) -> str | None:
        """The id of the active server of the request's type, else None (BAD_SERVER)."""
        server_id = params.get("server", "")
        server = self._servers.get(server_id)
        if server is None or not server.active or str(server.type) != params.get("type"):
            return None
        return server_id

    def _action_getBalance(self, params: dict[str, str]) -> str:
        return f"ACCESS_BALANCE:{self._balance.quantize(CENT)}"

    def _action_getServers(self, params: dict[str, str]) -> str | dict:
        wanted = params.get("type", "")
        if wanted and wanted not in TYPES:
            return "BAD_TYPE"
        reply: dict[str, list] = {}
        for server_id, server in self._servers.items():
            if server.active and (not wanted or str(server.type) == wanted):
                reply.setdefault(str(server.type), []).append({"id": server_id, "name": server.name})
        return reply or "NO_SERVERS"

    def _action_getServices(self, params: dict[str, str]) -> str | dict:
        if params.get("type", "") not in TYPES:
            return "BAD_TYPE"
        server_id = self._server(params)
        if server_id is None:
            return "BAD_SERVER"
        services = self._services[server_id]
        if not services:
            return "NO_SERVICES"
        return {sid: f"{s.label} \u2014 \u20a8{s.price.quantize(CENT)}" for sid, s in services.items()}

    def _action_buyNumber(self, params: dict[str, str]) -> str:
        if params.get("type", "") not in TYPES:
            return "BAD_TYPE"
        server_id = self._server(params)
        if server_id is None:
            return "BAD_SERVER"
        services = self._services[server_id]
        if not services:
            return "NO_NUMBERS"
        service_id = params.get("service") or next(iter(services))
        service = services.get(service_id)
        if service is None:
            return "BAD_SERVICE"
        if service.count <= 0:
            return "NO_NUMBERS"
        if self._balance < service.price:
            return "LOW_BALANCE"
        number = next(self._ids)
        order = CheapOrder(
            id=f"ORD_6830abc{number:03d}_{number}",
            server=server_id,
            service=service_id,
            phone=f"92300{number:07d}",
            price=service.price,
            created=time.monotonic(),
        )
        service.count -= 1
        self._balance -= service.price
        self._orders[order.id] = order
        return f"{order.id},{order.phone},{LIFETIME}"

    def _find(self, params: dict[str, str]) -> CheapOrder | str:
        order_id = params.get("id", "")
        if not order_id:
            return "BAD_ID"
        return self._orders.get(order_id) or "NO_ACTIVATION"

    def _action_getStatus(self, params: dict[str, str]) -> str:
        order = self._find(params)
        if isinstance(order, str):
            return order
        if order.status == "waiting":
            return "STATUS_WAIT_CODE"
        if order.status in ("code", "finished"):
            return f"STATUS_OK:{order.code}"
        return "STATUS_CANCEL"

    def _action_setStatus(self, params: dict[str, str]) -> str:
        order = self._find(params)
        if isinstance(order, str):
            return order
        status = params.get("status", "")
        if status not in ("3", "6", "8"):
            return "BAD_STATUS"
        if order.status not in ("waiting", "code"):
            return "STATUS_ALREADY_CHANGED"
        if status in ("3", "6"):
            if order.status != "code":
                return "NO_SMS_RECEIVED"
            order.status = "finished"
            return "ACCESS_FINISH"
        if order.status == "code":
            order.status = "finished"
            return "ACCESS_FINISH"
        if time.monotonic() - order.created < self.early_cancel_seconds:
            return "EARLY_CANCEL_DENIED"
        order.status = "cancelled"
        self._balance += order.price
        return "ACCESS_READY"
