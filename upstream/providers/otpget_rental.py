"""Client of an OTPGet-compatible `stubs/rental-handler.php` (OTPGet's document, "rental-handler.php"),
protocol `otpget-rental`: long-term whole-number rentals bought from another reseller (another
instance of this server included). Rentals only: `supports_rent`; buy/status/set_status and
balance are `Unsupported`, the activation catalogue is empty.

GET `action=<name>` with our key as `api_key`; every reply is JSON with a *string* `status`:
"200" is success, anything else an error with a `message` (`ERRORS`). The document's samples lost
their first lines; the shapes this client reads, and that our own rental-handler.php serves, are
the ones written out in `otpget_rental_wire.SHAPES` (docs/upstreams.md, "otpget-rental").

Decisions where the document is silent:
- **Countries** are the document's ISO-like `country_code`s (`ca`, `us`), mapped to SMS-Activate
  numbers by upstream/data/iso_countries.csv plus config `country_map` ({"<code>": <number>}, adds
  to or overrides it). A listed country without a number is skipped; an unmapped request is
  ProviderError("UNMAPPED_COUNTRY:<n>"), nothing sent.
- **The number is rented whole**: prices are FULL_RENT; a RentRequest for one service is
  ProviderError("FULL_RENT_ONLY"), nothing sent.
- **Durations**: 12, 24, 168, 720, 4320, 8640 hours; provider ("Server") 2 only 720, 4320, 8640.
  Any other is ProviderError("BAD_RENT_PERIOD:<hours>") before sending.
- **rent_prices**: getRentalCountries(provider), then per mapped country getRentalPricing and
  getAvailableRentals; `count` is the sum of `available` over the country's areas.
- **Times**: `expires`, `expiry_time`, `new_expiry` are Pakistan time (UTC+5, no DST; config
  `utc_offset_hours` overrides), the SMS `timestamp` is ISO 8601 UTC. The document's samples agree:
  a 720-hour rental expiring 2026-04-09 21:55:55 got an SMS at 2026-03-09T20:57:32Z, which is after
  its purchase (2026-03-09 21:55:55 local) only at a positive offset.
- **rent_status(order_id)**: getMyRentals gives the state (`active`, `expired` FINISHED, `cancelled`
  CANCELLED) and the end; getRentalSMS the messages (`id` when given, else a digest of timestamp,
  sender, text). An order not listed is UnknownActivation; getRentalSMS failing on an ended rental
  leaves `sms` empty.
- **rent_set_status**: the API has no cancel or finish: `Unsupported`, nothing sent.
- **rent_prolong(order_id)**: renewRental needs getMyRentals' `id`, looked up by `order_id`; a
  rental listed as not active is RentEnded without sending; renewRental's 400 `Rental is not
  active.` is RentEnded too.
- Phones are returned as the upstream writes them (digits; the document's `3434337545` has no
  country prefix).

Provider.config: `provider` (1 or 2, default 1), `country_map`, `utc_offset_hours` (default 5),
`timeout_seconds` (http.py). `config_check(config)` is what provider_add should refuse.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NoReturn

from upstream.providers.base import (
    FULL_RENT,
    CountryEntry,
    NoActivations,
    NoNumbers,
    ProviderBadKey,
    ProviderClient,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    Rented,
    RentEnded,
    RentPrice,
    RentRequest,
    RentSetStatus,
    RentSms,
    RentState,
    RentStatus,
    UnknownActivation,
    Unsupported,
)
from upstream.providers.handler_api import Dialect, HandlerApi
from upstream.providers.otpget_rental_wire import (
    ACTIVE,
    CANCELLED,
    DURATIONS,
    EXPIRED,
    MESSAGES,
    OK,
    PROVIDERS,
    TIME_FORMAT,
)
from upstream.providers.parsing import RAW_LIMIT, text_of

log = logging.getLogger(__name__)

ISO_CSV = Path(__file__).resolve().parent.parent / "data" / "iso_countries.csv"
DEFAULT_UTC_OFFSET_HOURS = 5  # Pakistan Standard Time

RENTAL_STATES = {ACTIVE: RentState.ACTIVE, EXPIRED: RentState.FINISHED, CANCELLED: RentState.CANCELLED}

COMMON_ERRORS: dict[str, type[ProviderError]] = {"401": ProviderBadKey, "403": ProviderBadKey, "402": ProviderNoBalance}
ERRORS: dict[str, dict[str, type[ProviderError]]] = {
    "rentNumber": {"404": NoNumbers},
    "renewRental": {"404": UnknownActivation},
    "getRentalSMS": {"404": UnknownActivation},
}

_CODE = re.compile(r"[a-z]{2,3}")
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

RENTAL = Dialect("otpget-rental")
_bad, _json = RENTAL.bad, RENTAL.json


@lru_cache(maxsize=1)
def _iso_table() -> dict[str, int]:
    with ISO_CSV.open(newline="", encoding="utf-8") as handle:
        return {row["iso2"].strip(): int(row["sms_activate_id"]) for row in csv.DictReader(handle)}


def iso_countries() -> dict[str, int]:
    """The ISO-like country codes rental-handler.php speaks, to SMS-Activate numbers (our own
    rental-handler.php uses the same table)."""
    return dict(_iso_table())


def _check_provider(config: dict) -> int:
    value = config.get("provider", 1)
    number = int(value) if text_of(value) in ("1", "2") else None
    if number not in PROVIDERS:
        raise ProviderUnavailable(message=f"otpget-rental: config provider must be 1 or 2, not {value!r}")
    return number


def _check_country_map(config: dict) -> dict[str, int]:
    extra = config.get("country_map")
    extra = {} if extra is None else extra
    if not isinstance(extra, dict):
        raise ProviderUnavailable(message="otpget-rental: config country_map must be an object")
    table = dict(_iso_table())
    for code, number in extra.items():
        if not _CODE.fullmatch(str(code).strip().lower()) or not text_of(number).isdigit():
            raise ProviderUnavailable(message=f"otpget-rental: bad country_map entry {code!r}: {number!r}")
        table[str(code).strip().lower()] = int(text_of(number))
    return table


def _check_offset(config: dict) -> timezone:
    value = config.get("utc_offset_hours", DEFAULT_UTC_OFFSET_HOURS)
    if isinstance(value, bool) or not isinstance(value, int | float) or not -14 <= value <= 14:
        raise ProviderUnavailable(message=f"otpget-rental: config utc_offset_hours must be a number, not {value!r}")
    return timezone(timedelta(hours=value))


def config_check(config: dict) -> None:
    """ProviderUnavailable when a row with this config could not make its first call."""
    _check_provider(config), _check_country_map(config), _check_offset(config)


def _raise(action: str, status: str, reply: dict, body: str) -> NoReturn:
    error = ERRORS.get(action, {}).get(status) or COMMON_ERRORS.get(status, ProviderError)
    message = text_of(reply.get("message"))
    raw = body if len(body) <= RAW_LIMIT else body[:RAW_LIMIT] + "..."
    if action == "renewRental" and status == "400" and message == MESSAGES["not_active"]:
        error = RentEnded
    raise error(raw=raw, message=f"otpget-rental {action}: status {status}: {message or raw[:200]}")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


class OtpGetRentalClient(NoActivations, ProviderClient):
    protocol = "otpget-rental"
    sells = "rentals"
    supports_active_list = False
    supports_rent = True
    native_codes = True  # country codes are mapped here; there are no services

    @property
    def config(self) -> dict:
        return self.provider.config or {}

    @property
    def server(self) -> int:
        return _check_provider(self.config)

    @cached_property
    def _numbers(self) -> dict[str, int]:
        return _check_country_map(self.config)

    @cached_property
    def _zone(self) -> timezone:
        return _check_offset(self.config)

    @cached_property
    def api(self) -> HandlerApi:
        config_check(self.config)  # a misconfigured row sends nothing
        return HandlerApi(self.provider, RENTAL)

    def _code(self, country: int) -> str:
        for code, number in self._numbers.items():
            if number == int(country):
                return code
        raise ProviderError(raw=f"UNMAPPED_COUNTRY:{country}", message=f"otpget-rental: no code for country {country}")

    def _success(self, action: str, list_key: str | None = None, **params: object) -> tuple[dict, str]:
        """The reply object of a status "200" reply (with a list under `list_key` when given)."""
        body = self.api.get(action, **params)
        reply = _json(body, f"{action} reply")
        if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
            raise _bad(body, f"{action} reply has no string status")
        if reply["status"] != OK:
            _raise(action, reply["status"], reply, body)
        if list_key is not None:
            items = reply.get(list_key)
            if items == {}:  # PHP's encoding of an empty array, should it come as an object
                items = []
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise _bad(body, f"{action} reply has no list of {list_key}")
        return reply, body

    def _time(self, value: Any, body: str, what: str) -> datetime:
        try:
            return datetime.strptime(text_of(value), TIME_FORMAT).replace(tzinfo=self._zone).astimezone(UTC)
        except ValueError:
            raise _bad(body, f"{what} is not a {TIME_FORMAT} time") from None

    def _hours(self, hours: int) -> int:
        if isinstance(hours, bool) or hours not in DURATIONS[self.server]:
            raise ProviderError(
                raw=f"BAD_RENT_PERIOD:{hours}",
                message=f"otpget-rental: server {self.server} rents for {DURATIONS[self.server]} hours, not {hours}",
            )
        return hours

    # --- catalogue -----------------------------------------------------------------

    def _rental_countries(self) -> list[tuple[int, str, str]]:
        """(our number, code, name) of getRentalCountries for our provider, mapped ones only."""
        reply, body = self._success("getRentalCountries", "countries", provider=self.server)
        found: dict[int, tuple[int, str, str]] = {}
        for item in reply["countries"]:
            code, name = text_of(item.get("country_code")).lower(), text_of(item.get("name"))
            if not _CODE.fullmatch(code):
                raise _bad(body, "a country without a country_code")
            if text_of(item.get("provider")) not in ("", str(self.server)):
                continue
            number = self._numbers.get(code)
            if number is None:
                log.debug("otpget-rental slot %s: country %r has no number, skipped", self.provider.slot, code)
                continue
            found.setdefault(number, (number, code, name or code))
        return list(found.values())

    def rent_prices(self) -> list[RentPrice]:
        prices = []
        for number, code, _ in self._rental_countries():
            where = {"country_code": code, "provider": self.server}
            pricing, body = self._success("getRentalPricing", "pricing", **where)
            stock, stock_body = self._success("getAvailableRentals", "available", **where)
            count = sum(
                RENTAL.int(a.get("available"), stock_body, "available", signed=False) for a in stock["available"]
            )
            for tier in pricing["pricing"]:
                hours = RENTAL.int(tier.get("duration_hours"), body, "duration_hours", signed=False)
                cost = RENTAL.decimal(tier.get("price"), body, "price", signed=False)
                if hours in DURATIONS[self.server]:
                    prices.append(RentPrice(country=number, service=FULL_RENT, hours=hours, cost=cost, count=count))
        return prices

    def countries(self) -> list[CountryEntry]:
        return [CountryEntry(id=number, name=name) for number, _, name in self._rental_countries()]

    # --- rentals -------------------------------------------------------------------

    def rent(self, request: RentRequest) -> Rented:
        if request.service != FULL_RENT:
            raise ProviderError(raw="FULL_RENT_ONLY", message="otpget-rental: whole numbers only, no service")
        hours, code = self._hours(request.hours), self._code(request.country)
        reply, body = self._success("rentNumber", country_code=code, provider=self.server, duration_hours=hours)
        order_id, phone = text_of(reply.get("order_id")), text_of(reply.get("phone")).removeprefix("+")
        if not _ID.fullmatch(order_id) or not phone.isdigit():
            raise _bad(body, "rentNumber reply without an order_id and a phone")
        cost = RENTAL.decimal(reply["price_paid"], body, "price_paid") if "price_paid" in reply else None
        ends_at = self._time(reply.get("expires"), body, "expires")
        return Rented(upstream_id=order_id, phone=phone, ends_at=ends_at, cost=cost, raw=body)

    def rentals(self) -> list[dict]:
        """getMyRentals: every rental of the account, as sent."""
        return self._success("getMyRentals", "rentals")[0]["rentals"]

    def _rental(self, order_id: str) -> tuple[dict, str]:
        reply, body = self._success("getMyRentals", "rentals")
        for item in reply["rentals"]:
            if text_of(item.get("order_id")) == str(order_id):
                return item, body
        raise UnknownActivation(raw=f"NO_RENTAL:{order_id}", message=f"otpget-rental: {order_id} not in getMyRentals")

    def rent_status(self, upstream_id: str) -> RentStatus:
        rental, listing = self._rental(upstream_id)
        state = RENTAL_STATES.get(text_of(rental.get("status")).lower())
        if state is None:
            raise _bad(listing, f"rental status {rental.get('status')!r}")
        ends_at = self._time(rental.get("expiry_time"), listing, "expiry_time")
        try:
            reply, body = self._success("getRentalSMS", "messages", order_id=upstream_id)
        except ProviderError as exc:
            if state == RentState.ACTIVE or isinstance(exc, ProviderTimeout | ProviderUnavailable):
                raise
            log.info("otpget-rental slot %s: no SMS list for an ended rental: %s", self.provider.slot, exc)
            return RentStatus(state=state, ends_at=ends_at, raw=listing)
        return RentStatus(state=state, sms=self._messages(reply["messages"], body), ends_at=ends_at, raw=body)

    @staticmethod
    def _messages(items: list[dict], body: str) -> tuple[RentSms, ...]:
        messages, seen = [], {}
        for item in items:
            text, sender, stamp = item.get("text"), text_of(item.get("from")), text_of(item.get("timestamp"))
            if not isinstance(text, str):
                raise _bad(body, "an SMS without a text")
            try:
                received = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
            except ValueError:
                raise _bad(body, f"SMS timestamp {stamp!r} is not ISO 8601") from None
            if received is not None and received.tzinfo is None:
                received = received.replace(tzinfo=UTC)
            key = (stamp, sender, text)
            seen[key] = seen.get(key, -1) + 1
            sms_id = text_of(item.get("id")) or _digest(stamp, sender, text, str(seen[key]))
            code = text_of(item.get("code")) or None
            messages.append(RentSms(sms_id=sms_id, text=text, sender=sender, received_at=received, code=code))
        return tuple(messages)

    def rent_set_status(self, upstream_id: str, status: RentSetStatus) -> str:
        raise Unsupported(message="otpget-rental: rental-handler.php has no cancel or finish")

    def rent_prolong(self, upstream_id: str, hours: int) -> Rented:
        hours = self._hours(hours)
        rental, listing = self._rental(upstream_id)
        if text_of(rental.get("status")).lower() != ACTIVE:
            raise RentEnded(raw=f"RENTAL_{text_of(rental.get('status')).upper() or 'ENDED'}")
        rental_id = text_of(rental.get("id"))
        if not _ID.fullmatch(rental_id):
            raise _bad(listing, "getMyRentals entry without an id")
        reply, body = self._success("renewRental", rental_id=rental_id, duration_hours=hours)
        phone = (text_of(reply.get("phone_number")) or text_of(rental.get("phone_number"))).removeprefix("+")
        cost = RENTAL.decimal(reply["price_paid"], body, "price_paid") if "price_paid" in reply else None
        ends_at = self._time(reply.get("new_expiry"), body, "new_expiry")
        return Rented(upstream_id=str(upstream_id), phone=phone, ends_at=ends_at, cost=cost, raw=body)

    # --- no balance call (no activations: NoActivations) ----------------------------

    def balance(self) -> Decimal:
        raise Unsupported(message="otpget-rental: rental-handler.php has no balance call")
