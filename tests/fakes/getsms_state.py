"""The in-memory upstream behind the fake Get-SMS server (`tests.fakes.getsms`): API v1 of Get-SMS's API document.

`FakeGetSmsState.handle(params)` answers one `/api/v1/` request with the
document's bodies: `{"status": <code>, "data": {...}}` as compact JSON, the
document's messages where it prints them (`msg`/`advice`), its description of
the code otherwise. getallcount answers its bare country map. Standard library
only (no Django), thread-safe (one lock around everything).

Where the document is silent, this fake decides (and the tests rely on it):
- every reply is HTTP 200; the code is the JSON `status`.
- a missing or wrong `userkey` is 401 on every method; an unknown method 404.
- getnumber reserves the price from the balance; an order that ends without an
  SMS (refusenumber, bannumber, its lifetime running out) gives it back.
- the first SMS of an order has the order's id (the document: last_id is
  "almost always the same as order_id"), later ones new, larger ids
  (`deliver_sms(sms_id=...)` chooses one).
- getcode always answers the first SMS; wrongcode(last_id) answers the first
  SMS with a larger id, 400 while there is none, 504 before getcode has given
  the first one, 506 without last_id.
- getcode, wrongcode, refusenumber and bannumber on an expired, refused or
  banned order: 500; on an unknown order: 505; without order_id: 506.
- refusenumber after an SMS ends the order without refund.
- getcount of an unknown slug is 500 with the document's failure message.
- getbalance prints the balance as the document does: `"balance":100,00` (not JSON).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

JSON = "application/json; charset=utf-8"
ANY = "ANY"
PREFIXES = {"ru": "7", "ukr": "380", "kazakhstan": "7", "england": "44", "indonesia": "62", "indiia": "91"}
PREFIXES |= {"pakistan": "92", "ssha": "1"}
NAMES = {"vk": "VK", "ok": "Ok.ru", "wa": "Whatsapp", "vi": "Viber", "tg": "Telegram", "go": "Google,youtube,Gmail"}
SLUGS = set(PREFIXES) | {"canada", "germany", "brazil", "usavirt", "vetnam", "filippiny"}

NO_NUMBER = {
    "msg": "No phone number was found for this request",
    "advice": "Please try to retrieve the phone number later, after new numbers become available",
}
NOT_YET = {
    "msg": "The SMS has not been found yet",
    "advice": "The SMS has probably not been received yet. Please try the request again in 10 seconds",
}
COUNT_FAILED = {"msg": "Failed to generate a service count"}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")  # 2023-02-23T13:11:57.373Z


def _reply(status: int, data: dict) -> str:
    return json.dumps({"status": status, "data": data}, separators=(",", ":"), ensure_ascii=False)


def _error(status: int, msg: str) -> str:
    return _reply(status, {"msg": msg})


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass
class FakeSms:
    id: int
    code: str | None
    text: str
    sender: str
    received: str = field(default_factory=_now_iso)


@dataclass
class FakeOrder:
    id: int
    service: str
    country: str
    phone: str
    price: Decimal
    state: str = "active"  # active | refused | banned | expired
    sms: list[FakeSms] = field(default_factory=list)
    first_given: bool = False  # getcode has answered the first SMS
    settled: bool = False  # the reserve was refunded or kept
    created: float = field(default_factory=time.monotonic)
    start_time: str = field(default_factory=_now_iso)


@dataclass
class Offer:
    price: Decimal
    count: int


class FakeGetSmsState:
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("1000")):
        self.api_key = api_key
        self.lifetime_seconds = 900.0  # 15 minutes, as the document says
        self.blocked = False  # getnumber answers 506 (temporarily blocked until the next day)
        self.maintenance = False  # getnumber answers 507 (technical work in progress)
        self.lock = threading.RLock()
        self._balance = Decimal(balance)
        self._offers: dict[tuple[str, str, str], Offer] = {}  # (slug, operator, service)
        self._orders: dict[int, FakeOrder] = {}
        self._ids = itertools.count(377_253_343)

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
        self, country: str, service: str, price: Decimal | str | int, count: int, operator: str = ANY
    ) -> None:
        """Price and stock of `service` in the country with this slug (getnumber sells the ANY operator's)."""
        with self.lock:
            self._offers[(country, operator, service)] = Offer(price=Decimal(price), count=int(count))

    def deliver_sms(
        self,
        order_id: int | str,
        code: str | None,
        text: str | None = None,
        *,
        sender: str = "",
        sms_id: int | None = None,
    ) -> int:
        """An SMS reaches the order's number; returns its id."""
        with self.lock:
            order = self._orders[int(order_id)]
            if order.state != "active":
                raise ValueError(f"order {order_id} is {order.state}")
            if sms_id is None:
                sms_id = order.id if not order.sms else max(next(self._ids), order.sms[-1].id + 1)
            order.sms.append(FakeSms(int(sms_id), code, text if text is not None else f"Your code is {code}", sender))
            return int(sms_id)

    def expire(self, order_id: int | str) -> None:
        """End the order's lifetime now."""
        with self.lock:
            self._orders[int(order_id)].created -= self.lifetime_seconds + 1

    @property
    def orders(self) -> dict[int, FakeOrder]:
        """A snapshot (copies)."""
        with self.lock:
            self._settle()
            return {key: copy.deepcopy(value) for key, value in self._orders.items()}

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        """(content type, body) for one request."""
        if not params.get("userkey") or params["userkey"] != self.api_key:
            return JSON, _error(401, "User API KEY is not specified or incorrect")
        handler = getattr(self, f"_method_{params.get('method', '')}", None)
        if handler is None:
            return JSON, _error(404, "Incorrect method parameter")
        with self.lock:
            self._settle()
            return JSON, handler(params)

    def _settle(self) -> None:
        """Orders past their lifetime expire; one without an SMS gets its reserve back."""
        for order in self._orders.values():
            if order.state == "active" and time.monotonic() - order.created > self.lifetime_seconds:
                order.state = "expired"
            if order.state != "active" and not order.settled:
                order.settled = True
                if not order.sms:
                    self._balance += order.price

    def _method_getbalance(self, params: dict[str, str]) -> str:
        amount = format(self._balance.quantize(Decimal("0.01")), "f").replace(".", ",")
        return f'{{"status":200,"data":{{"balance":{amount}}}}}'

    def _method_getcount(self, params: dict[str, str]) -> str:
        country = params.get("country") or "ru"
        if country not in SLUGS:
            return _reply(500, COUNT_FAILED)
        data: dict[str, dict] = {}
        for (slug, operator, service), offer in sorted(self._offers.items()):
            if slug == country:
                data.setdefault(operator, {})[service] = {"count": offer.count, "price": _amount(offer.price)}
        return _reply(200, data)

    def _method_getallcount(self, params: dict[str, str]) -> str:
        service = params.get("service") or None
        result: dict[str, object] = {}
        for (slug, operator, code), offer in sorted(self._offers.items()):
            if operator != ANY or service not in (None, code):
                continue
            entry = {"price": _amount(offer.price), "count_all": str(offer.count)}
            if service:
                result[slug] = entry
            else:
                result.setdefault(slug, [{}])[0][code] = {"name": NAMES.get(code, code), **entry}
        return json.dumps(result, separators=(",", ":"), ensure_ascii=False)

    def _method_getnumber(self, params: dict[str, str]) -> str:
        service, country = params.get("service", ""), params.get("country") or "ru"
        if self.maintenance:
            return _error(507, "Technical work in progress")
        if self.blocked:
            return _error(506, "You are temporarily blocked until the next day")
        if country not in SLUGS:
            return _error(505, "Country does not exist")
        if not service or not any(code == service for _, _, code in self._offers):
            return _error(502, "Service does not exist")
        offer = self._offers.get((country, ANY, service))
        if offer is None or offer.count <= 0:
            return _reply(500, NO_NUMBER)
        if self._balance < offer.price:
            return _error(504, "Insufficient funds")
        order_id = next(self._ids)
        phone = f"{PREFIXES.get(country, '7')}{9_960_000_000 + order_id % 10_000_000}"
        order = FakeOrder(id=order_id, service=service, country=country, phone=phone, price=offer.price)
        offer.count -= 1
        self._balance -= offer.price
        self._orders[order_id] = order
        return _reply(200, {"order_id": str(order_id), "phone": phone, "start_time": order.start_time})

    def _order(self, params: dict[str, str]) -> FakeOrder | str:
        raw_id = params.get("order_id", "")
        if not raw_id:
            return _error(506, "order_id parameter is not specified")
        order = self._orders.get(int(raw_id)) if raw_id.isdigit() else None
        if order is None:
            return _error(505, "Order not found in the system")
        if order.state != "active":
            return _error(500, "Order lifetime expired")
        return order

    @staticmethod
    def _sms_reply(order: FakeOrder, sms: FakeSms) -> str:
        data = {"code": sms.code, "fullSms": sms.text, "phone": order.phone, "receivedDate": sms.received}
        return _reply(200, {**data, "sender": sms.sender, "id": str(sms.id), "phonePass": ""})

    def _method_getcode(self, params: dict[str, str]) -> str:
        order = self._order(params)
        if isinstance(order, str):
            return order
        if not order.sms:
            return _reply(400, NOT_YET)
        order.first_given = True
        return self._sms_reply(order, order.sms[0])

    def _method_wrongcode(self, params: dict[str, str]) -> str:
        order = self._order(params)
        if isinstance(order, str):
            return order
        last_id = params.get("last_id", "")
        if not last_id:
            return _error(506, "last_id parameter is not specified")
        if not order.first_given:
            return _error(504, "You have not yet received the first SMS from the getcode method")
        following = [sms for sms in order.sms if last_id.isdigit() and sms.id > int(last_id)]
        return self._sms_reply(order, following[0]) if following else _reply(400, NOT_YET)

    def _method_refusenumber(self, params: dict[str, str]) -> str:
        order = self._order(params)
        if isinstance(order, str):
            return order
        order.state = "refused"
        self._settle()
        return _reply(200, {"msg": "The phone number order has been canceled"})

    def _method_bannumber(self, params: dict[str, str]) -> str:
        order = self._order(params)
        if isinstance(order, str):
            return order
        order.state = "banned"
        self._settle()
        return _reply(200, {"msg": "The phone number is banned"})
