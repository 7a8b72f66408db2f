"""The in-memory upstream behind the fake OTPBuddy server (`tests.fakes.otpbuddy`).

`FakeOtpBuddyState.handle(params)` answers one `handler_api.php` request with
the bodies of OTPBuddy's API document: bare tokens (no newline) or JSON as PHP encodes it
(compact, `\\uXXXX`, `\\/`), prices and counts as strings (`{"13.00":"10"}`).
Standard library only (no Django), thread-safe (one lock around everything).

State: servers (id -> name), offers per (server, country, service) as price
tiers (price -> count), activations with 24-hex ids, one balance.

Where the document is silent, this fake decides (and the tests rely on it):
- a wrong `api_key` is `BAD_KEY`; an unknown action is `ERROR`.
- `getBalance` answers `ACCESS_BALANCE:<amount>` (the handler_api convention).
- a server's countries are those it has offers in; `getCountries`,
  `getServices`, `getPrices` and `getNumber` on an unknown server, and the
  first three for a country the server does not have, are `BAD_SERVER`;
  `getNumber` for a country the server does not have is `BAD_COUNTRY`, for a
  service no server has `BAD_SERVICE`.
- `getNumber` sells the cheapest price with stock and charges it.
- an unknown activation id is `ERROR` (the only error the document gives).
- `setStatus` cancels and refunds a waiting activation (`ACCESS_CANCEL`);
  with an SMS it is `ACCESS_APPROVED` (nothing changes); cancelled already,
  `ACCESS_CANCEL_ALREADY`. `getStatus` keeps `STATUS_OK:<code>` after an SMS.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass
from decimal import Decimal

TEXT = "text/html; charset=UTF-8"
JSON = "application/json"
DEFAULT_SERVER = "1"
DEFAULT_COUNTRY = "22"

SERVERS: dict[str, str] = {  # id: name, as the document lists them
    "1": "INDIAN SERVER 1 \U0001f1ee\U0001f1f3",
    "2": "INDIAN SERVER 2 \U0001f1ee\U0001f1f3",
    "3": "INDIAN SERVER 3 \U0001f1ee\U0001f1f3",
    "8": "INDIAN SERVER 8 \U0001f1ee\U0001f1f3",
}
COUNTRIES: dict[int, str] = {0: "russia", 1: "ukraine", 2: "kazakhstan", 3: "china", 22: "iNDIA"}
SERVICES: dict[str, str] = {"bne": "Uber ", "apg": "Mera Gaon ", "oht": "Anyother", "aaz": "Amazon "}


def php_json(value: object) -> str:
    """PHP 7 `json_encode` with default flags (only strings, dicts and lists occur here)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{php_json(str(key))}:{php_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(php_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=True).replace("/", "\\/")


@dataclass
class FakeActivation:
    id: str
    server: str
    country: int
    service: str
    phone: str
    cost: Decimal
    status: str = "waiting"  # waiting | code | cancelled
    code: str | None = None


class FakeOtpBuddyState:
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("1000")):
        self.api_key = api_key
        self.lock = threading.RLock()
        self._balance = Decimal(balance)
        self._servers = dict(SERVERS)
        self._services = dict(SERVICES)
        self._offers: dict[tuple[str, int, str], dict[Decimal, int]] = {}
        self._activations: dict[str, FakeActivation] = {}
        self._ids = itertools.count(0x687D51E19C5297335BB10161)
        self._phones = itertools.count(9_067_545_744)

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
        self, country: int, service: str, price: Decimal | str | int, count: int, *, server: int | str = 1
    ) -> None:
        """Stock of one price tier of (server, country, service); adds the server and service if new."""
        with self.lock:
            server_id = str(server)
            self._servers.setdefault(server_id, f"SERVER {server_id}")
            self._services.setdefault(service, service)
            tiers = self._offers.setdefault((server_id, int(country), service), {})
            tiers[Decimal(price).quantize(Decimal("0.01"))] = int(count)

    def deliver_sms(self, activation_id: str, code: str) -> None:
        with self.lock:
            activation = self._activations[activation_id]
            if activation.status == "cancelled":
                raise ValueError(f"activation {activation_id} is cancelled")
            activation.status, activation.code = "code", code

    @property
    def activations(self) -> dict[str, FakeActivation]:
        """A snapshot (copies): tests inspect it, they do not change the fake through it."""
        with self.lock:
            return {key: copy.deepcopy(value) for key, value in self._activations.items()}

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        """(content type, body) for one request."""
        if params.get("api_key") != self.api_key:
            return TEXT, "BAD_KEY"
        handler = getattr(self, f"_action_{params.get('action', '')}", None)
        if handler is None:
            return TEXT, "ERROR"
        with self.lock:
            reply = handler(params)
        return (JSON, php_json(reply)) if isinstance(reply, (dict, list)) else (TEXT, reply)

    def _server(self, params: dict[str, str]) -> str | None:
        server = params.get("server_id") or DEFAULT_SERVER
        return server if server in self._servers else None

    def _countries_of(self, server: str) -> list[int]:
        return sorted({country for s, country, _ in self._offers if s == server})

    def _tiers(self, server: str, country: int) -> dict[str, dict[Decimal, int]]:
        return {
            service: tiers for (s, c, service), tiers in sorted(self._offers.items()) if (s, c) == (server, country)
        }

    def _country_on(self, server: str, params: dict[str, str]) -> int | None:
        raw = params.get("country") or DEFAULT_COUNTRY
        country = int(raw) if raw.isdigit() else None
        return country if country in self._countries_of(server) else None

    def _action_getBalance(self, params: dict[str, str]) -> str:
        return f"ACCESS_BALANCE:{self._balance.quantize(Decimal('0.01'))}"

    def _action_getServers(self, params: dict[str, str]) -> dict:
        return {name: server for server, name in self._servers.items()}

    def _action_getCountries(self, params: dict[str, str]) -> str | dict:
        server = self._server(params)
        if server is None:
            return "BAD_SERVER"
        return {str(country): COUNTRIES.get(country, f"country {country}") for country in self._countries_of(server)}

    def _action_getServices(self, params: dict[str, str]) -> str | dict:
        server = self._server(params)
        country = None if server is None else self._country_on(server, params)
        if server is None or country is None:
            return "BAD_SERVER"
        return {service: self._services[service] for service in self._tiers(server, country)}

    def _action_getPrices(self, params: dict[str, str]) -> str | dict:
        server = self._server(params)
        country = None if server is None else self._country_on(server, params)
        if server is None or country is None:
            return "BAD_SERVER"
        by_service = {
            service: {f"{price:.2f}": str(count) for price, count in sorted(tiers.items())}
            for service, tiers in self._tiers(server, country).items()
        }
        return {str(country): by_service}

    def _action_getNumber(self, params: dict[str, str]) -> str:
        server = self._server(params)
        if server is None:
            return "BAD_SERVER"
        country = self._country_on(server, params)
        if country is None:
            return "BAD_COUNTRY"
        service = params.get("service", "")
        if service not in self._services:
            return "BAD_SERVICE"
        tiers = self._offers.get((server, country, service), {})
        in_stock = sorted(price for price, count in tiers.items() if count > 0)
        if not in_stock:
            return "NO_NUMBERS"
        price = in_stock[0]
        if self._balance < price:
            return "NO_BALANCE"
        tiers[price] -= 1
        self._balance -= price
        activation = FakeActivation(
            id=format(next(self._ids), "024x"),
            server=server,
            country=country,
            service=service,
            phone=f"91{next(self._phones)}",
            cost=price,
        )
        self._activations[activation.id] = activation
        return f"ACCESS_NUMBER:{activation.id}:{activation.phone}"

    def _action_getStatus(self, params: dict[str, str]) -> str:
        activation = self._activations.get(params.get("id", ""))
        if activation is None:
            return "ERROR"
        return {"waiting": "STATUS_WAIT_CODE", "code": f"STATUS_OK:{activation.code}"}.get(
            activation.status, "STATUS_CANCEL"
        )

    def _action_setStatus(self, params: dict[str, str]) -> str:
        activation = self._activations.get(params.get("id", ""))
        if activation is None:
            return "ERROR"
        if activation.status == "code":
            return "ACCESS_APPROVED"
        if activation.status == "cancelled":
            return "ACCESS_CANCEL_ALREADY"
        activation.status = "cancelled"
        self._balance += activation.cost
        return "ACCESS_CANCEL"
