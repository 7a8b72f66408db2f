"""The in-memory upstream behind the fake OTPGet `stubs/rental-handler.php` (`tests.fakes.otpget_rental`).

`FakeOtpGetRentalState.handle(params)` answers one request with the reply shapes decided in
`upstream.providers.otpget_rental_wire` (same keys, same order, string `status`, PHP's compact
`json_encode`) and the messages of the document's error table (`MESSAGES`). Standard library and
that wire module only; thread-safe (one lock). Time is `time.time()` plus `advance()`d seconds.

Where the document is silent, this fake decides (and the tests rely on it):
- a missing or wrong `api_key` is 401, a blocked account 403, an unknown action 400 on every action.
- country_code / provider / duration_hours / order_id / rental_id missing: 400 "<name> is
  required."; a provider other than 1 or 2: 400; a duration not in the six: 400; Server 2 with a
  non-monthly duration: 400 (the table's message); a disabled server: 503.
- getRentalCountries without `provider` lists both servers' countries; Server 2's pricing lists
  only its monthly tiers.
- getRentalPricing / getAvailableRentals of a country the server does not rent: 404 (no pricing);
  rentNumber without that tier: 404, without stock: 502 "Server N error: No numbers available.",
  without the balance: 402.
- a rental is `active` until its expiry, then `expired`; `cancel()` makes it `cancelled` (refunded
  by the upstream). getRentalSMS answers for every rental of the account, ended ones too.
- renewRental of a rental that is not active: 400 "Rental is not active."; it adds the hours to the
  current expiry and charges the tier's price.
- Times are Pakistan time (UTC+5); SMS timestamps UTC `...Z`.
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

from upstream.providers.otpget_rental_wire import (
    ACTIVE,
    CANCELLED,
    DURATIONS,
    EXPIRED,
    MESSAGES,
    RENEWED_MESSAGE,
    RENTED_MESSAGE,
    TIME_FORMAT,
)

JSON = "application/json"
PKT = timezone(timedelta(hours=5))


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def encode(reply: dict) -> str:
    """PHP's json_encode: compact, non-ASCII escaped, `/` escaped."""
    return json.dumps(reply, separators=(",", ":")).replace("/", "\\/")


def error(status: str, message: str) -> str:
    return encode({"status": status, "message": message})


@dataclass
class FakeCountry:
    id: int
    provider: int
    code: str
    name: str
    pricing: dict[int, Decimal]  # hours -> PKR
    areas: dict[str, tuple[str, int]]  # area_code -> (area_title, available)


@dataclass
class FakeMessage:
    id: int
    sender: str
    text: str
    code: str
    timestamp: str


@dataclass
class FakeRental:
    id: int
    order_id: str
    provider: int
    country: str
    phone: str
    expires: float
    paid: Decimal
    status: str = ACTIVE
    messages: list[FakeMessage] = field(default_factory=list)


class FakeOtpGetRentalState:
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("5060")):
        self.api_key = api_key
        self.blocked = False
        self.disabled: set[int] = set()  # servers "currently unavailable" (503)
        self.lock = threading.RLock()
        self.offset = 0.0
        self._balance = Decimal(balance)
        self._countries: list[FakeCountry] = []
        self._rentals: list[FakeRental] = []
        self._ids = itertools.count(27)
        self._orders = itertools.count(2_673_093_356_180_000_583)
        self._sms_ids = itertools.count(1)

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

    def add_country(
        self,
        provider: int,
        code: str,
        name: str,
        pricing: dict[int, Decimal | str],
        areas: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        with self.lock:
            self._countries.append(
                FakeCountry(
                    id=len(self._countries) + 1,
                    provider=provider,
                    code=code,
                    name=name,
                    pricing={int(h): Decimal(p) for h, p in pricing.items()},
                    areas=dict(areas if areas is not None else {code: (name, 10)}),
                )
            )

    def deliver_sms(self, order_id: str, text: str, *, code: str = "") -> None:
        with self.lock:
            rental = self._by_order(str(order_id))
            stamp = datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            rental.messages.append(FakeMessage(next(self._sms_ids), f"Server {rental.provider}", text, code, stamp))

    def cancel(self, order_id: str) -> None:
        with self.lock:
            rental = self._by_order(str(order_id))
            rental.status = CANCELLED
            self._balance += rental.paid

    @property
    def rentals(self) -> list[FakeRental]:
        with self.lock:
            self._expire()
            return copy.deepcopy(self._rentals)

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        if not params.get("api_key") or params["api_key"] != self.api_key:
            return JSON, error("401", MESSAGES["bad_key"])
        if self.blocked:
            return JSON, error("403", MESSAGES["blocked"])
        action = params.get("action", "")
        handler = getattr(self, f"_action_{action}", None)
        if handler is None:
            return JSON, error("400", MESSAGES["unknown_action"].format(action=action))
        with self.lock:
            self._expire()
            return JSON, handler(params)

    def _expire(self) -> None:
        for rental in self._rentals:
            if rental.status == ACTIVE and self.now() >= rental.expires:
                rental.status = EXPIRED

    def _by_order(self, order_id: str) -> FakeRental:
        return next(rental for rental in self._rentals if rental.order_id == order_id)

    @staticmethod
    def _required(params: dict[str, str], *names: str) -> str | None:
        for name in names:
            if not params.get(name, "").strip():
                return error("400", MESSAGES["required"].format(param=name))
        return None

    def _server(self, params: dict[str, str]) -> int | str:
        """The provider parameter as 1 or 2, or the error reply."""
        value = params.get("provider", "").strip()
        if value not in ("1", "2"):
            return error("400", MESSAGES["bad_provider"])
        if int(value) in self.disabled:
            return error("503", MESSAGES["unavailable"].format(provider=value))
        return int(value)

    def _duration(self, params: dict[str, str], server: int) -> int | str:
        value = params.get("duration_hours", "").strip()
        if not value.isdigit() or int(value) not in DURATIONS[1]:
            return error("400", MESSAGES["bad_duration"])
        if int(value) not in DURATIONS[server]:
            return error("400", MESSAGES["server2_monthly"])
        return int(value)

    def _country(self, code: str, server: int) -> FakeCountry | None:
        return next((c for c in self._countries if c.code == code and c.provider == server), None)

    def _where(self, params: dict[str, str]) -> FakeCountry | str:
        missing = self._required(params, "country_code", "provider")
        if missing:
            return missing
        server = self._server(params)
        if isinstance(server, str):
            return server
        country = self._country(params["country_code"].strip(), server)
        return country if country is not None else error("404", MESSAGES["no_pricing"])

    def _action_getRentalCountries(self, params: dict[str, str]) -> str:
        server: int | str | None = None
        if params.get("provider", "").strip():
            server = self._server(params)
            if isinstance(server, str):
                return server
        countries = [
            {"id": str(c.id), "provider": str(c.provider), "name": c.name, "country_code": c.code}
            for c in self._countries
            if server in (None, c.provider)
        ]
        return encode({"status": "200", "countries": countries})

    def _action_getRentalPricing(self, params: dict[str, str]) -> str:
        country = self._where(params)
        if isinstance(country, str):
            return country
        pricing = [
            {"id": str(n), "duration_hours": str(hours), "price": _money(price), "country_name": country.name}
            for n, (hours, price) in enumerate(sorted(country.pricing.items()), start=1)
            if hours in DURATIONS[country.provider]
        ]
        return encode({"status": "200", "pricing": pricing})

    def _action_getAvailableRentals(self, params: dict[str, str]) -> str:
        country = self._where(params)
        if isinstance(country, str):
            return country
        available = [
            {"area_code": code, "area_title": title, "available": count, "min_month": 1 if country.provider == 2 else 0}
            for code, (title, count) in country.areas.items()
        ]
        return encode({"status": "200", "available": available})

    def _action_rentNumber(self, params: dict[str, str]) -> str:
        missing = self._required(params, "country_code", "provider", "duration_hours")
        country = missing or self._where(params)
        if isinstance(country, str):
            return country
        hours = self._duration(params, country.provider)
        if isinstance(hours, str):
            return hours
        price = country.pricing.get(hours)
        if price is None:
            return error("404", MESSAGES["no_pricing"])
        area = next((code for code, (_, count) in country.areas.items() if count > 0), None)
        if area is None:
            return error(
                "502", MESSAGES["server_error"].format(provider=country.provider, detail="No numbers available.")
            )
        if self._balance < price:
            return error("402", MESSAGES["no_balance"])
        title, count = country.areas[area]
        country.areas[area] = (title, count - 1)
        self._balance -= price
        rental = FakeRental(
            id=next(self._ids),
            order_id=str(next(self._orders)),
            provider=country.provider,
            country=country.code,
            phone=str(3_434_337_545 + len(self._rentals)),
            expires=self.now() + hours * 3600,
            paid=price,
        )
        self._rentals.append(rental)
        return encode(
            {
                "status": "200",
                "message": RENTED_MESSAGE,
                "phone": rental.phone,
                "order_id": rental.order_id,
                "duration_hours": hours,
                "price_paid": _money(price),
                "new_balance": _money(self._balance),
                "expires": self._local(rental.expires),
            }
        )

    @staticmethod
    def _local(timestamp: float) -> str:
        return datetime.fromtimestamp(timestamp, UTC).astimezone(PKT).strftime(TIME_FORMAT)

    def _action_getMyRentals(self, params: dict[str, str]) -> str:
        rentals = [
            {
                "id": str(r.id),
                "server": f"Server {r.provider}",
                "phone_number": r.phone,
                "order_id": r.order_id,
                "status": r.status,
                "country_code": r.country,
                "expiry_time": self._local(r.expires),
            }
            for r in self._rentals
        ]
        return encode({"status": "200", "rentals": rentals})

    def _action_getRentalSMS(self, params: dict[str, str]) -> str:
        missing = self._required(params, "order_id")
        if missing:
            return missing
        rental = next((r for r in self._rentals if r.order_id == params["order_id"].strip()), None)
        if rental is None:
            return error("404", MESSAGES["not_found"])
        messages = [
            {"id": str(m.id), "from": m.sender, "text": m.text, "code": m.code, "timestamp": m.timestamp}
            for m in rental.messages
        ]
        return encode({"status": "200", "messages": messages})

    def _action_renewRental(self, params: dict[str, str]) -> str:
        missing = self._required(params, "rental_id", "duration_hours")
        if missing:
            return missing
        rental = next((r for r in self._rentals if str(r.id) == params["rental_id"].strip()), None)
        if rental is None:
            return error("404", MESSAGES["not_found"])
        hours = self._duration(params, rental.provider)
        if isinstance(hours, str):
            return hours
        if rental.status != ACTIVE:
            return error("400", MESSAGES["not_active"])
        country = self._country(rental.country, rental.provider)
        price = country.pricing.get(hours) if country is not None else None
        if price is None:
            return error("404", MESSAGES["no_pricing"])
        if self._balance < price:
            return error("402", MESSAGES["no_balance"])
        self._balance -= price
        rental.paid += price
        rental.expires += hours * 3600
        return encode(
            {
                "status": "200",
                "message": RENEWED_MESSAGE,
                "phone_number": rental.phone,
                "duration_hours": hours,
                "price_paid": _money(price),
                "new_balance": _money(self._balance),
                "new_expiry": self._local(rental.expires),
            }
        )
