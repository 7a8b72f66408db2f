"""Client of an OTPGet-compatible `stubs/cheap_handler.php` (OTPGet's API document, "cheap_handler.php"), protocol
`otpget-cheap`: cheap 15-minute numbers bought from another reseller, including another instance of
this server.

The protocol sends `type` (config, default 1) on every call and answers:
- `getBalance` -> `ACCESS_BALANCE:500.00` (PKR);
- `getServers` -> `{"1":[{"id":"1","name":"Random Facebook - Free"}]}` (the servers of each type);
- `getServices&server=<id>` -> `{"<service id>":"<label> \\u2014 \\u20a8<price>"}` (PHP's `json_encode` of
  `<label> — ₨50.00`: the price in PKR, two decimals);
- `buyNumber&server=<id>` -> `ORD_6830abc123_741,923001234567,900` (order id, number, seconds valid);
- `getStatus&id=<order id>` -> `STATUS_WAIT_CODE`, `STATUS_OK:<code>` or `STATUS_CANCEL`;
- `setStatus&id=<order id>&status=8` -> `ACCESS_READY` (cancelled and refunded; denied in the first two
  minutes: `EARLY_CANCEL_DENIED`), `status=3|6` -> `ACCESS_FINISH` (completed);
- and the tokens of its error table (`ERROR_TOKENS`). Anything else (HTML, an empty body, an unknown
  token, JSON of the wrong shape, a label without a ₨ price) is `BadResponse` with the body in `raw`.

Codes (`native_codes = False`: they go through the admin's mapping tables):
- a **service** is `<server id>` when that server's getServices lists one service, else
  `<server id>:<service id>` for each service it lists; its name is `<server name> / <service label>`
  (so catalogue sync never matches it to one of ours by name: the admin maps the codes to sell).
  `buy` sends `server`, and `service` too for a `<server id>:<service id>` code (the document's
  buyNumber takes only `server`; a server selling several services needs it).
- the protocol has no **countries**: every number is in config `country` (SMS-Activate numbering,
  default 0), the one country `countries()` lists (named from upstream/data/getsms_countries.csv, so
  sync maps it to ours by name) and the country of every `PriceEntry`. `BuyRequest.country` is not sent.
- **prices**: one `PriceEntry` per service code with the ₨ price as cost and `count=1` (the protocol
  reports no stock). A server answering `NO_SERVICES` or `BAD_SERVER` to getServices sells nothing
  now; `NO_SERVERS` to getServers is an empty catalogue.

No purchase cost (`Purchase.cost` is None), no `maxPrice`, no operator, no order reference (the
protocol has none), no active list, no SMS text. `set_status`: CANCEL -> 8, FINISH -> 6; READY and
RETRY ("another SMS") are not in the protocol: `Unsupported`, nothing sent. A cancel answered
`ACCESS_FINISH` (an OTP had come) is a `ProviderError`, never a confirmed cancel.

Provider.config: `type` (1-6, default 1), `country` (default 0), `catalogue_cache_seconds` (default 60:
getServers/getServices replies reused within one client, so a catalogue sync costs 1 + one call per
server), `timeout_seconds` (http.py).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from upstream.providers.base import (
    BuyRequest,
    CancelTooEarly,
    CountryEntry,
    NoNumbers,
    PriceEntry,
    ProviderBadKey,
    ProviderClient,
    ProviderError,
    ProviderNoBalance,
    ProviderUnavailable,
    Purchase,
    ServiceEntry,
    SetStatus,
    StatusResult,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.providers.cache import ReplyCache
from upstream.providers.handler_api import Dialect, HandlerApi
from upstream.providers.otpget import provider_type
from upstream.providers.parsing import GROUPED_AMOUNT, grouped_decimal, text_of

if TYPE_CHECKING:
    from upstream.models import Provider

COUNTRIES_CSV = Path(__file__).resolve().parent.parent / "data" / "getsms_countries.csv"
DEFAULT_COUNTRY = 0
LISTED_COUNT = 1  # getServices gives no stock

# The cheap_handler.php error table of OTPGet's API document, by the exception each raises.
ERROR_TOKENS: dict[str, type[ProviderError]] = {
    "BAD_KEY": ProviderBadKey,
    "ACCOUNT_BLOCKED": ProviderBadKey,
    "BAD_ACTION": ProviderError,
    "BAD_SERVER": ProviderError,
    "BAD_TYPE": ProviderError,
    "BAD_ID": UnknownActivation,
    "BAD_STATUS": ProviderError,
    "LOW_BALANCE": ProviderNoBalance,
    "NO_NUMBERS": NoNumbers,
    "NO_SERVERS": ProviderError,
    "NO_SERVICES": ProviderError,
    "NO_ACTIVATION": UnknownActivation,
    "DATABASE_ERROR": ProviderError,
    "EARLY_CANCEL_DENIED": CancelTooEarly,
    "NO_SMS_RECEIVED": ProviderError,
    # not in that table: handler_api's, for a second setStatus and for the `service` we add to buyNumber
    "STATUS_ALREADY_CHANGED": ProviderError,
    "BAD_SERVICE": ProviderError,
}
NO_SERVERS, NO_SERVICES, BAD_SERVER = "NO_SERVERS", "NO_SERVICES", "BAD_SERVER"
CANCELLED, FINISHED = "ACCESS_READY", "ACCESS_FINISH"
WIRE_STATUS = {SetStatus.CANCEL: 8, SetStatus.FINISH: 6}

_ID = re.compile(r"[A-Za-z0-9_.-]{1,30}")  # a server or service id (the document's are digits)
_CODE = re.compile(r"(?P<server>[A-Za-z0-9_.-]{1,30})(?::(?P<service>[A-Za-z0-9_.-]{1,30}))?")
_ORDER_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")  # `ORD_6830abc123_741`
_PHONE = re.compile(r"\+?([0-9]{5,32})")
_LABEL = re.compile(rf"(?P<name>.*\S)\s+[\u2014-]\s+\u20a8\s*(?P<price>{GROUPED_AMOUNT})", re.DOTALL)  # the last dash
_BALANCE = re.compile(rf"-?(?:{GROUPED_AMOUNT})")

CHEAP = Dialect("otpget-cheap", ERROR_TOKENS)
_bad, _json = CHEAP.bad, CHEAP.json


@dataclass(frozen=True)
class CheapOffer:
    code: str  # `<server id>` or `<server id>:<service id>`
    name: str
    price: Decimal  # PKR


@lru_cache(maxsize=1)
def _country_names() -> dict[int, str]:
    with COUNTRIES_CSV.open(newline="", encoding="utf-8") as handle:
        return {int(row["sms_activate_id"]): row["name"].strip() for row in csv.DictReader(handle)}


def service_code(server_id: str, service_id: str, *, only: bool) -> str:
    """The code of one service of a server (`only`: the server lists no other)."""
    return server_id if only else f"{server_id}:{service_id}"


class OtpGetCheapClient(ProviderClient):
    protocol = "otpget-cheap"
    supports_active_list = False
    native_codes = False  # servers and their services: mapped through the mapping tables

    def __init__(self, provider: Provider):
        super().__init__(provider)
        self._cache = ReplyCache(lambda: self.config)

    @property
    def config(self) -> dict:
        return self.provider.config or {}

    @property
    def country(self) -> int:
        """config["country"] (default 0): an SMS-Activate country number; anything else is a
        misconfigured row (`ProviderUnavailable`: nothing is sent)."""
        value = self.config.get("country", DEFAULT_COUNTRY)
        text = text_of(value)
        if not re.fullmatch(r"[0-9]{1,6}", text):
            raise ProviderUnavailable(
                message=f"provider slot {self.provider.slot}: config country must be a number: {value!r}"
            )
        return int(text)

    @cached_property
    def api(self) -> HandlerApi:
        """Every call sends `type` (OTPGet's provider type, 1-6)."""
        return HandlerApi(self.provider, CHEAP, every_call=lambda: {"type": provider_type(self.provider)})

    # --- buying --------------------------------------------------------------------

    def buy(self, request: BuyRequest) -> Purchase:
        code = _CODE.fullmatch(request.service or "")
        if code is None:
            raise ProviderUnavailable(
                message=f"provider slot {self.provider.slot}: {request.service!r} is no otpget-cheap service code "
                "(<server id> or <server id>:<service id>)"
            )
        body = self.api.reply("buyNumber", server=code.group("server"), service=code.group("service"))
        parts = [part.strip() for part in body.split(",")]
        phone = _PHONE.fullmatch(parts[1]) if len(parts) == 3 else None
        if phone is None or not _ORDER_ID.fullmatch(parts[0]) or not parts[2].isdigit():
            raise _bad(body, "unexpected reply to buyNumber")
        return Purchase(upstream_id=parts[0], phone=phone.group(1), cost=None, raw=body)

    # --- one order -----------------------------------------------------------------

    def status(self, upstream_id: str) -> StatusResult:
        body = self.api.reply("getStatus", id=upstream_id)
        if body == "STATUS_WAIT_CODE":
            return StatusResult(state=UpstreamState.WAITING, raw=body)
        if body == "STATUS_CANCEL":
            return StatusResult(state=UpstreamState.CANCELLED, raw=body)
        name, _, code = body.partition(":")
        code = code.strip()
        if name == "STATUS_OK" and code and "\n" not in code:
            return StatusResult(state=UpstreamState.CODE, code=code, raw=body)
        raise _bad(body, "unexpected reply to getStatus")

    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        status = SetStatus(status)
        if status not in WIRE_STATUS:
            raise Unsupported(message=f"otpget-cheap: setStatus {status.name} is not in the protocol")
        body = self.api.reply("setStatus", id=upstream_id, status=WIRE_STATUS[status])
        if body == (CANCELLED if status == SetStatus.CANCEL else FINISHED):
            return body
        if status == SetStatus.CANCEL and body == FINISHED:
            raise ProviderError(raw=body, message="otpget-cheap: not cancelled, the order is completed (an OTP came)")
        raise _bad(body, f"unexpected reply to setStatus {WIRE_STATUS[status]}")

    # --- catalogue and account -----------------------------------------------------

    def offers(self) -> list[CheapOffer]:
        """Every service of every server of our type, with its price (cached: `catalogue_cache_seconds`)."""
        return list(self._cache.get("offers", self._fetch_offers))

    def _fetch_offers(self) -> list[CheapOffer]:
        offers = []
        for server_id, server_name in self._servers():
            listing = self._services_of(server_id)
            for service_id, label, price in listing:
                code = service_code(server_id, service_id, only=len(listing) == 1)
                offers.append(CheapOffer(code=code, name=f"{server_name} / {label}", price=price))
        return offers

    def _servers(self) -> list[tuple[str, str]]:
        """(id, name) of getServers' servers of our type, in its order (a repeated id: the first)."""
        upstream_type = provider_type(self.provider)
        body = self.api.get("getServers")
        if body == NO_SERVERS:
            return []
        CHEAP.raise_if_error(body)
        data = _json(body, "getServers reply")
        if data == []:  # PHP encodes an empty array as []
            return []
        if not isinstance(data, dict) or not all(re.fullmatch(r"[0-9]+", str(key)) for key in data):
            raise _bad(body, "getServers reply is not keyed by type")
        items = data.get(str(upstream_type), [])
        if isinstance(items, dict):  # PHP's encoding of a non-sequential array
            items = list(items.values())
        if not isinstance(items, list):
            raise _bad(body, f"servers of type {upstream_type} are not a list")
        servers: dict[str, str] = {}
        for item in items:
            server_id = text_of(item.get("id")) if isinstance(item, dict) else ""
            name = item.get("name") if isinstance(item, dict) else None
            if not _ID.fullmatch(server_id) or not isinstance(name, str) or not name.strip():
                raise _bad(body, "server entry without an id and a name")
            servers.setdefault(server_id, name.strip())
        return list(servers.items())

    def _services_of(self, server_id: str) -> list[tuple[str, str, Decimal]]:
        """(service id, label, price in PKR) of getServices for one server; [] when it sells nothing now."""
        body = self.api.get("getServices", server=server_id)
        if body in (NO_SERVICES, BAD_SERVER):  # none now, or gone inactive since getServers listed it
            return []
        CHEAP.raise_if_error(body)
        data = _json(body, "getServices reply")
        if data == []:
            return []
        if not isinstance(data, dict):
            raise _bad(body, "getServices reply is not an object")
        listing = []
        for service_id, label in data.items():
            match = _LABEL.fullmatch(label.strip()) if isinstance(label, str) else None
            if not _ID.fullmatch(service_id) or match is None:
                raise _bad(body, f"service {service_id!r} is not '<id>': '<label> \u2014 \u20a8<price>'")
            listing.append((service_id, match.group("name").strip(), grouped_decimal(match.group("price"))))
        return listing

    def countries(self) -> list[CountryEntry]:
        country = self.country
        return [CountryEntry(id=country, name=_country_names().get(country, f"country {country}"))]

    def services(self) -> list[ServiceEntry]:
        return [ServiceEntry(code=offer.code, name=offer.name) for offer in self.offers()]

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        ours = self.country
        if country is not None and int(country) != ours:
            return []
        return [
            PriceEntry(country=ours, service=offer.code, cost=offer.price, count=LISTED_COUNT)
            for offer in self.offers()
            if service is None or offer.code == service
        ]

    def balance(self) -> Decimal:
        body = self.api.reply("getBalance")
        amount = CHEAP.argument(body, "ACCESS_BALANCE", "getBalance").strip()
        if not _BALANCE.fullmatch(amount):
            raise _bad(body, "unexpected reply to getBalance")
        return grouped_decimal(amount)
