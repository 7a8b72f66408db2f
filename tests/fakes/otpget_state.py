"""The state and protocol of the fake OTPGet `stubs/handler_api.php` (OTPGet's API document, with `type` 1-6).

Bodies are the document's: `ACCESS_BALANCE:500.00`, `{"1":[{"id":"61","name":"Pakistan"}]}`,
`{"101":"Telegram - 50 PKR"}`, `ACCESS_NUMBER:<order id>:<phone>`, `STATUS_WAIT_CODE`,
`STATUS_OK:<code>`, `STATUS_CANCEL` and the tokens of its error table. Where the document is silent
the fake answers as decisions.md reconciles it for this server: setStatus 3 -> `ACCESS_RETRY_GET`
(another SMS; getStatus then says `STATUS_WAIT_RETRY:<previous code>`), 6 -> `ACCESS_ACTIVATION`,
8 -> `ACCESS_CANCEL` (after an SMS: finished, charged). Empty PHP arrays are written `[]`.

OTPGet documents only 3, 6 and 8 for setStatus, no `maxPrice`, no `getFullSms` and no
`getActiveActivations`: the fake answers those as OTPGet would (`BAD_STATUS`, ignored, `BAD_ACTION`)
unless `extensions` is set, which makes it behave as another instance of this server
(setStatus 1 -> `ACCESS_READY`, `WRONG_MAX_PRICE:<price>`, `FULL_SMS:<text>`, SMS-Activate's
active list).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from tests.fakes.sms_activate_state import JSON, TEXT, php_json

COUNTRIES: dict[int, str] = {12: "USA", 15: "England", 33: "Canada", 61: "Pakistan"}  # the document's ids
SLOTS = {str(n) for n in range(1, 7)}
LIVE = ("waiting", "code", "wait_retry")
EXTENSION_ACTIONS = {"getFullSms", "getActiveActivations"}
CENT = Decimal("0.01")


@dataclass
class Listing:
    price: Decimal
    count: int


@dataclass
class FakeOrder:
    id: str
    type: int
    country: int
    service: str
    phone: str
    price: Decimal
    status: str = "waiting"  # waiting | code | wait_retry | cancelled | finished
    sms: list[tuple[str, str]] = field(default_factory=list)  # (code, text)
    created: float = field(default_factory=time.monotonic)
    activation_time: str = field(default_factory=lambda: datetime.now().strftime("%Y-%m-%d %H:%M:%S"))

    @property
    def code(self) -> str | None:
        return self.sms[-1][0] if self.sms else None


class FakeOtpGetState:
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("500"), extensions: bool = False):
        self.api_key = api_key
        self.extensions = extensions
        self.blocked = False
        self.early_cancel_seconds = 120.0  # the document: cancel only after 2 minutes
        self.lock = threading.RLock()
        self._balance = Decimal(balance)
        self._offers: dict[tuple[int, int, str], Listing] = {}  # (type, country, service id)
        self._names: dict[str, str] = {}  # service id -> name
        self._orders: dict[str, FakeOrder] = {}
        self._ids = itertools.count(1)

    # --- test controls -----------------------------------------------------------

    @property
    def balance(self) -> Decimal:
        with self.lock:
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        with self.lock:
            self._balance = Decimal(value)

    def set_offer(
        self, type: int, country: int, service_id: str, name: str, price: Decimal | str | int, count: int
    ) -> None:
        with self.lock:
            self._offers[(int(type), int(country), str(service_id))] = Listing(Decimal(price), int(count))
            self._names[str(service_id)] = name

    def deliver_sms(self, activation_id: int | str, code: str, text: str | None = None) -> None:
        with self.lock:
            order = self._orders[str(activation_id)]
            if order.status not in LIVE:
                raise ValueError(f"order {activation_id} is {order.status}")
            order.sms.append((code, text if text is not None else f"Your code is {code}"))
            order.status = "code"

    @property
    def activations(self) -> dict[str, FakeOrder]:
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
        action = params.get("action", "")
        handler = getattr(self, f"_action_{action}", None)
        if handler is None or (action in EXTENSION_ACTIONS and not self.extensions):
            return TEXT, "BAD_ACTION"
        with self.lock:
            reply = handler(params)
        return (JSON, php_json(reply)) if isinstance(reply, (dict, list)) else (TEXT, reply)

    @staticmethod
    def _type(params: dict[str, str]) -> int | None:
        raw = params.get("type", "")
        return int(raw) if raw in SLOTS else None

    def _country(self, params: dict[str, str]) -> int | None:
        raw = params.get("country", "")
        if not raw.isdigit():
            return None
        known = set(COUNTRIES) | {country for _, country, _ in self._offers}
        return int(raw) if int(raw) in known else None

    def _action_getBalance(self, params: dict[str, str]) -> str:
        return f"ACCESS_BALANCE:{self._balance.quantize(CENT)}"

    def _action_getCountries(self, params: dict[str, str]) -> str | dict | list:
        if params.get("type", "") != "" and self._type(params) is None:
            return "BAD_TYPE"
        wanted = self._type(params)
        types = [wanted] if wanted is not None else sorted({t for t, _, _ in self._offers})
        reply = {}
        for type_ in types:
            ids = {country for t, country, _ in self._offers if t == type_}
            rows = sorted((COUNTRIES.get(c, f"Country {c}"), c) for c in ids)
            reply[str(type_)] = [{"id": str(c), "name": name} for name, c in rows]
        return reply or []

    def _action_getServices(self, params: dict[str, str]) -> str | dict | list:
        type_, country = self._type(params), self._country(params)
        if type_ is None:
            return "BAD_TYPE"
        if country is None:
            return "BAD_COUNTRY"
        listed = sorted(
            ((int(s), s, listing) for (t, c, s), listing in self._offers.items() if (t, c) == (type_, country)),
        )
        reply = {
            s: f"{self._names[s]} - {format(listing.price.normalize(), 'f')} PKR"
            for _, s, listing in listed
            if listing.count > 0
        }
        return reply or []

    def _action_getNumber(self, params: dict[str, str]) -> str:
        type_, country = self._type(params), self._country(params)
        if type_ is None:
            return "BAD_TYPE"
        if country is None:
            return "BAD_COUNTRY"
        listing = self._offers.get((type_, country, params.get("service", "")))
        if listing is None:
            return "BAD_SERVICE"
        if listing.count <= 0:
            return "NO_NUMBERS"
        if self.extensions and params.get("maxPrice"):
            try:
                max_price = Decimal(params["maxPrice"])
            except InvalidOperation:
                max_price = None  # unparsable: ignored, as this server does
            if max_price is not None and max_price < listing.price:
                return f"WRONG_MAX_PRICE:{listing.price.quantize(CENT)}"
        if self._balance < listing.price:
            return "NO_BALANCE"
        number = next(self._ids)
        order = FakeOrder(
            id=f"abc{number}",  # alphanumeric, as the document's example `ACCESS_NUMBER:abc123:9230012345`
            type=type_,
            country=country,
            service=params["service"],
            phone=f"923{number:08d}",
            price=listing.price,
        )
        listing.count -= 1
        self._balance -= listing.price
        self._orders[order.id] = order
        return f"ACCESS_NUMBER:{order.id}:{order.phone}"

    def _find(self, params: dict[str, str]) -> FakeOrder | str:
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
        if order.status == "code":
            return f"STATUS_OK:{order.code}"
        if order.status == "wait_retry":
            return f"STATUS_WAIT_RETRY:{order.code}"
        return "STATUS_CANCEL"

    def _action_setStatus(self, params: dict[str, str]) -> str:
        order = self._find(params)
        if isinstance(order, str):
            return order
        status = params.get("status", "")
        if status not in ({"1", "3", "6", "8"} if self.extensions else {"3", "6", "8"}):
            return "BAD_STATUS"
        if order.status not in LIVE:
            return "STATUS_ALREADY_CHANGED"
        if status == "1":
            return "ACCESS_READY"
        if status in ("3", "6"):
            if not order.sms:
                return "NO_SMS_RECEIVED"
            order.status = "wait_retry" if status == "3" else "finished"
            return "ACCESS_RETRY_GET" if status == "3" else "ACCESS_ACTIVATION"
        if order.sms:
            order.status = "finished"  # the code was delivered: charged
            return "ACCESS_CANCEL"
        if time.monotonic() - order.created < self.early_cancel_seconds:
            return "EARLY_CANCEL_DENIED"
        order.status = "cancelled"
        self._balance += order.price
        return "ACCESS_CANCEL"

    def _action_getFullSms(self, params: dict[str, str]) -> str:
        order = self._find(params)
        if isinstance(order, str):
            return order
        if order.sms and order.status != "cancelled":
            return f"FULL_SMS:{order.sms[-1][1]}"
        return "STATUS_WAIT_CODE" if order.status in LIVE else "STATUS_CANCEL"

    def _action_getActiveActivations(self, params: dict[str, str]) -> str | dict:
        live = [order for order in self._orders.values() if order.status in LIVE]
        if not live:
            return "NO_ACTIVATIONS"
        return {"status": "success", "activeActivations": [self._active_item(order) for order in live]}

    def _active_item(self, order: FakeOrder) -> dict:
        """This server's item (docs/protocol.md): status 2 waiting, 3 waiting for another SMS, 4 code."""
        code = order.code if order.status == "code" else None
        return {
            "activationId": order.id,
            "serviceCode": order.service,
            "phoneNumber": order.phone,
            "activationCost": order.price.quantize(CENT),
            "activationStatus": {"waiting": "2", "wait_retry": "3"}.get(order.status, "4"),
            "smsCode": [code] if code else None,
            "smsText": f"[{order.sms[-1][1]}]" if code else None,
            "activationTime": order.activation_time,
            "discount": "0.00",
            "repeated": "0",
            "countryCode": str(order.country),
            "countryName": COUNTRIES.get(order.country, f"Country {order.country}"),
            "canGetAnotherSms": "1",
            "currency": 586,
        }
