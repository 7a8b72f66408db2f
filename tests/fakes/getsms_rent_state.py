"""The in-memory upstream behind the fake Get-SMS rent server (`tests.fakes.getsms_rent`): the rent
API v2 of the Get-SMS document (`/api/v2/rent/`).

`FakeGetSmsRentState.handle(params)` answers one request with `{"status": <code>, "data": {...}}`
(compact JSON, the document's messages where it prints them) or, for getorders, the bare array.
Standard library only, thread-safe (one lock). Time is `time.time()` plus `advance()`d seconds, so
tests can cross the refund window or a rental's end without sleeping.

Where the document is silent, this fake decides (and the tests rely on it):
- every reply is HTTP 200; a missing or wrong `userkey` is 401 everywhere, an unknown method 404.
- getcountprices: `country` defaults to ru; an unknown slug is 505; only countries with an offer
  list services; `count` and prices are strings, as in the document.
- getnumber: 507 in maintenance, 505 unknown country, 502 a service no country offers, 506 a
  `type` other than day/week or a period without a price (`<n>day` must be priced; `<n>week`, n in
  1..4, costs its `<n>week` price or else n times the 7day price), 500 no stock, 504 balance.
  Times: `end_time` and `date_at` are Moscow time (UTC+3), as the document's sample shows.
- a rental is active until its end; then expired (getcode 501, getorders status 0). `complete()`
  ends one as the upstream's "completed" (getcode 502, getorders status 0).
- getcode: 503 for a missing or unknown rentid.
- prolong: 502 missing/unknown rentid, 504 bad type/period, 506 a rental no longer active,
  505 balance; the period is added to the current end.
- refuse: 500 missing rentid, 503 unknown, 501 already cancelled, 502 completed or expired,
  400 after 20 minutes or once an SMS came; else everything paid for it is refunded.
- delete: 500 missing rentid; the order (known or not) is no longer listed; 200.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

JSON = "application/json; charset=utf-8"
MOSCOW = timezone(timedelta(hours=3))
REFUND_WINDOW_SECONDS = 20 * 60
PREFIXES = {"ru": "7", "ukr": "380", "kazakhstan": "7", "england": "44", "indiia": "91", "pakistan": "92"}
SLUGS = set(PREFIXES) | {"canada", "germany", "ssha", "usavirt"}
MAX_WEEKS = 4

NO_SMS = {"msg": "No SMS received on this number yet", "advice": "No SMS received on this number yet"}
CANCELLED = {"msg": "Rental canceled", "advice": "Your phone number rental order is canceled. The money is refunded."}
DELETED = {"msg": "Order deleted", "advice": "The phone number rental order has been deleted from the system"}


def moscow_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M:%S")


def reply(status: int, data: dict) -> str:
    return json.dumps({"status": status, "data": data}, separators=(",", ":"), ensure_ascii=False)


def _error(status: int, msg: str) -> str:
    return reply(status, {"msg": msg})


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass
class FakeRentSms:
    date: str  # Moscow time, `2023-12-14 17:11:51`
    text: str


@dataclass
class FakeRental:
    id: int
    service: str
    country: str
    phone: str
    paid: Decimal
    start: float
    end: float
    state: str = "active"  # active | cancelled | expired | completed
    sms: list[FakeRentSms] = field(default_factory=list)
    listed: bool = True  # delete takes it off getorders


@dataclass
class RentOffer:
    count: int
    prices: dict[str, Decimal]  # "1day".. "7day", optionally "<n>week"


class FakeGetSmsRentState:
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("1000")):
        self.api_key = api_key
        self.maintenance = False
        self.lock = threading.RLock()
        self.offset = 0.0  # seconds added to the wall clock (`advance`)
        self._balance = Decimal(balance)
        self._offers: dict[tuple[str, str], RentOffer] = {}
        self._rentals: dict[int, FakeRental] = {}
        self._ids = itertools.count(14_763_471)

    # --- test controls -----------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds

    @property
    def balance(self) -> Decimal:
        with self.lock:
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        with self.lock:
            self._balance = Decimal(value)

    def set_offer(self, country: str, service: str, count: int, prices: dict[str, Decimal | str | int]) -> None:
        with self.lock:
            self._offers[(country, service)] = RentOffer(int(count), {k: Decimal(v) for k, v in prices.items()})

    def deliver_sms(self, rent_id: int | str, text: str, *, at: float | None = None) -> None:
        with self.lock:
            self._expire()
            rental = self._rentals[int(rent_id)]
            if rental.state != "active":
                raise ValueError(f"rental {rent_id} is {rental.state}")
            rental.sms.append(FakeRentSms(moscow_time(self.now() if at is None else at), text))

    def end_now(self, rent_id: int | str) -> None:
        """The rental's period runs out now (expired)."""
        with self.lock:
            self._rentals[int(rent_id)].end = self.now() - 1

    def complete(self, rent_id: int | str) -> None:
        with self.lock:
            self._rentals[int(rent_id)].state = "completed"

    @property
    def rentals(self) -> dict[int, FakeRental]:
        with self.lock:
            self._expire()
            return copy.deepcopy(self._rentals)

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        if not params.get("userkey") or params["userkey"] != self.api_key:
            return JSON, _error(401, "User API KEY not provided")
        handler = getattr(self, f"_method_{params.get('method', '')}", None)
        if handler is None:
            return JSON, _error(404, "Incorrectly specified 'method' parameter")
        with self.lock:
            self._expire()
            return JSON, handler(params)

    def _expire(self) -> None:
        now = self.now()
        for rental in self._rentals.values():
            if rental.state == "active" and now >= rental.end:
                rental.state = "expired"

    def _price(self, offer: RentOffer, kind: str, period: str) -> Decimal | None:
        if kind not in ("day", "week") or not period.isdigit() or int(period) < 1:
            return None
        key = f"{int(period)}{kind}"
        if key in offer.prices:
            return offer.prices[key]
        if kind == "week" and int(period) <= MAX_WEEKS and "7day" in offer.prices:
            return offer.prices["7day"] * int(period)
        return None

    def _method_getcountprices(self, params: dict[str, str]) -> str:
        country = params.get("country") or "ru"
        if country not in SLUGS:
            return _error(505, "Country does not exist")
        data = {
            service: {"count": str(offer.count), "price": {key: _amount(v) for key, v in offer.prices.items()}}
            for (slug, service), offer in sorted(self._offers.items())
            if slug == country
        }
        return reply(200, data)

    def _method_getnumber(self, params: dict[str, str]) -> str:
        service, country = params.get("service", ""), params.get("country") or "ru"
        if self.maintenance:
            return _error(507, "Technical maintenance in progress")
        if country not in SLUGS:
            return _error(505, "Country does not exist")
        if not service or not any(code == service for _, code in self._offers):
            return _error(502, "Service does not exist")
        offer = self._offers.get((country, service))
        kind, period = params.get("type", ""), params.get("period", "")
        price = self._price(offer, kind, period) if offer is not None else None
        if offer is not None and price is None:
            return _error(506, "Incorrectly specified period or period type")
        if offer is None or offer.count <= 0:
            return _error(500, "No available numbers for rental")
        if self._balance < price:
            return _error(504, "Insufficient funds")
        rent_id, start = next(self._ids), self.now()
        end = start + int(period) * (86400 if kind == "day" else 7 * 86400)
        phone = f"{PREFIXES.get(country, '7')}{9_510_000_000 + rent_id % 10_000_000}"
        self._rentals[rent_id] = FakeRental(rent_id, service, country, phone, price, start, end)
        offer.count -= 1
        self._balance -= price
        return reply(
            200,
            {
                "order_id": rent_id,
                "phone": phone,
                "end_time_timestamp": int(end),
                "end_time": moscow_time(end),
                "start_timestamp": int(start),
            },
        )

    def _rental(self, params: dict[str, str]) -> FakeRental | None:
        raw = params.get("rentid", "")
        return self._rentals.get(int(raw)) if raw.isdigit() else None

    def _method_getcode(self, params: dict[str, str]) -> str:
        rental = self._rental(params)
        if rental is None:
            return _error(503, "Order not found")
        if rental.state in ("cancelled", "expired"):
            return _error(501, "Rental was canceled or the rental order time has expired")
        if rental.state == "completed":
            return _error(502, "Rental completed")
        if not rental.sms:
            return reply(400, NO_SMS)
        sms_list = [{"date": sms.date, "text": sms.text} for sms in rental.sms]
        return reply(200, {"msg": "List of all SMS", "sms_list": sms_list})

    def _method_prolong(self, params: dict[str, str]) -> str:
        rental = self._rental(params)
        if rental is None:
            return _error(502, "Rent ID not provided or no such order in the system")
        kind, period = params.get("type", ""), params.get("period", "")
        offer = self._offers.get((rental.country, rental.service)) or RentOffer(0, {})
        price = self._price(offer, kind, period)
        if price is None:
            return _error(504, "Incorrectly specified period or period type")
        if rental.state != "active":
            return _error(506, "Unable to extend the rental for the specified period")
        if self._balance < price:
            return _error(505, "Insufficient funds to extend the rental")
        self._balance -= price
        rental.paid += price
        rental.end += int(period) * (86400 if kind == "day" else 7 * 86400)
        return reply(200, {"phone": rental.phone, "msg": "You have extended the rental of the number"})

    def _method_refuse(self, params: dict[str, str]) -> str:
        if not params.get("rentid"):
            return _error(500, "Rent ID not provided")
        rental = self._rental(params)
        if rental is None:
            return _error(503, "Order not found")
        if rental.state == "cancelled":
            return _error(501, "Rental has already been canceled")
        if rental.state != "active":
            return _error(502, "Rental is completed")
        if rental.sms or self.now() - rental.start > REFUND_WINDOW_SECONDS:
            return _error(
                400,
                "Unable to cancel the rental of this number, as more than 20 minutes have passed "
                "or SMS has already been received",
            )
        rental.state = "cancelled"
        self._balance += rental.paid
        return reply(200, CANCELLED)

    def _method_delete(self, params: dict[str, str]) -> str:
        if not params.get("rentid"):
            return _error(500, "Rent ID not provided")
        rental = self._rental(params)
        if rental is not None:
            rental.listed = False
        return reply(200, DELETED)

    def _method_getorders(self, params: dict[str, str]) -> str:
        codes = {"active": "1", "cancelled": "2"}
        orders = [
            {"id": str(r.id), "phone": r.phone, "status": codes.get(r.state, "0"), "date_at": moscow_time(r.end)}
            for r in self._rentals.values()
            if r.listed
        ]
        return json.dumps(orders, separators=(",", ":"))
