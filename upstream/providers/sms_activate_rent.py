"""SMS-Activate's rent API (document "Rent Api" of `handler_api.php`), mixed into SmsActivateClient.

Actions: getRentServicesAndCountries (prices and stock for one country and one period),
getRentNumber, getRentStatus (the SMS, newest first, in pages: every page is read), setRentStatus
(1 finish, 2 cancel with a refund), getRentList (our live rentals, in pages), continueRentNumber
(prolong; a rental that already ended is "reordered" under a new id), continueRentInfo and the
deprecated getContinueRentPriceNumber (what prolonging costs).

Errors come as `{"status":"error","message":"<TOKEN>"}` (or a bare token); `RENT_ERRORS` maps them
to the exceptions of `upstream.providers.base`; an unknown token is `ProviderError(raw=<token>)`,
a body that does not parse `BadResponse`. getRentStatus reports the end of a rental as an error
message (`STATUS_FINISH`, `STATUS_CANCEL`, `STATUS_REVOKE`) and "no SMS yet" as `STATUS_WAIT_CODE`:
those are states, not errors.

Provider.config keys (all optional):
- `rent_hours` (list of integers 1-1344, default [4, 12, 24, 168, 720]): the periods rent_prices asks.
- `rent_countries` (list of SMS-Activate country ids): the countries rent_prices asks; default the
  countries getCountries marks `"rent": 1`, else (no such flags) the countries of this provider's
  activation offers, else [0].
- `rent_timezone` (IANA name, default "UTC"): the zone of the upstream's `endDate` and SMS `date`
  (naive local times in the document).
- `rent_page_size` (integer 1-100, default 100): `size`/`length` of getRentStatus and getRentList.
A malformed value raises ProviderUnavailable before anything is sent (route around the row).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from upstream.providers.base import (
    FULL_RENT,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
    ProviderUnavailable,
    RentCannotCancel,
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
from upstream.providers.parsing import text_of
from upstream.providers.rent_sms import code_in, sms_digest

FULL = "full"  # SMS-Activate's service code of a number for every service
DEFAULT_HOURS = (4, 12, 24, 168, 720)
MAX_HOURS = 1344  # the document: "available hours range from 2 to 1344"
DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 1000  # a reply that never ends is garbage, not a loop

RENT_ERRORS: dict[str, type[ProviderError]] = {
    "NO_NUMBERS": NoNumbers,
    "OUT_OF_STOCK": NoNumbers,
    "NO_BALANCE": ProviderNoBalance,
    "BAD_KEY": ProviderBadKey,
    "INVALID_PHONE": UnknownActivation,
    "NO_ID_RENT": UnknownActivation,
    "CANT_CANCEL": RentCannotCancel,
    "RENT_DIE": RentEnded,
    "ALREADY_FINISH": RentEnded,
    "ALREADY_CANCEL": RentEnded,
    **dict.fromkeys(
        (
            "BAD_ACTION",
            "BAD_SERVICE",
            "ACCOUNT_INACTIVE",
            "SERVER_ERROR",
            "CHANNELS_LIMIT",
            "INCORECT_STATUS",
            "INVALID_TIME",
            "MAX_HOURS_EXCEED",
            "ERROR_SQL",
        ),
        ProviderError,
    ),
}
RENT = Dialect("smsactivate", RENT_ERRORS)
_bad, _json, _decimal, _int = RENT.bad, RENT.json, RENT.decimal, RENT.int

# getRentStatus: states that come as error messages.
END_STATES = {
    "STATUS_FINISH": RentState.FINISHED,
    "STATUS_CANCEL": RentState.CANCELLED,
    "STATUS_REVOKE": RentState.CANCELLED,  # "the number is blocked, your funds have been returned"
}
WAIT_CODE = "STATUS_WAIT_CODE"
_TOKEN = re.compile(r"[A-Z][A-Z0-9_]{1,63}")


def _oldest_first(seen: dict[str, RentSms]) -> tuple[RentSms, ...]:
    """The SMS read (newest first) in the order they came; undated ones keep their place."""
    newest_first = list(seen.values())
    return tuple(sorted(reversed(newest_first), key=lambda s: s.received_at or datetime.min.replace(tzinfo=UTC)))


def _error(data: Any, body: str) -> ProviderError | None:
    """The exception of `{"status":"error","message":...}`; None for any other reply."""
    if not (isinstance(data, dict) and data.get("status") == "error"):
        return None
    token = data.get("message") or data.get("error")
    if isinstance(token, str):
        known = RENT.error(token)
        if known is not None:
            return known
        if _TOKEN.fullmatch(token):
            return ProviderError(raw=token)
    return ProviderError(raw=body)


class SmsActivateRent:
    """The `rent_*` methods of SmsActivateClient (see the module docstring)."""

    provider: Any
    supports_rent: bool = True

    @cached_property
    def rent_api(self) -> HandlerApi:
        return HandlerApi(self.provider, RENT)

    # --- config --------------------------------------------------------------------

    def _rent_misconfigured(self, key: str, what: str) -> ProviderUnavailable:
        return ProviderUnavailable(message=f"provider slot {self.provider.slot}: config {key!r} {what}")

    def _rent_config_ints(self, key: str, default, low: int, high: int) -> list[int]:
        value = (self.provider.config or {}).get(key)
        if value is None:
            return list(default)
        if not isinstance(value, list) or not value:
            raise self._rent_misconfigured(key, "must be a non-empty list of integers")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
                raise self._rent_misconfigured(key, f"must hold integers from {low} to {high}, not {item!r}")
        return list(dict.fromkeys(value))

    @property
    def rent_timezone(self) -> ZoneInfo:
        name = (self.provider.config or {}).get("rent_timezone", "UTC")
        try:
            return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo("")
        except (ZoneInfoNotFoundError, ValueError):
            raise self._rent_misconfigured("rent_timezone", "must be an IANA time zone name") from None

    @property
    def rent_page_size(self) -> int:
        value = (self.provider.config or {}).get("rent_page_size", DEFAULT_PAGE_SIZE)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            raise self._rent_misconfigured("rent_page_size", "must be an integer from 1 to 100")
        return value

    def rent_config_check(self) -> None:
        """Every rent config key read once: ProviderUnavailable naming the first bad one."""
        self._rent_config_ints("rent_hours", DEFAULT_HOURS, 1, MAX_HOURS)
        self._rent_config_ints("rent_countries", [0], 0, 10**6)
        self.rent_timezone  # noqa: B018 - read for its check
        self.rent_page_size  # noqa: B018

    def _local_time(self, value: Any, body: str, what: str) -> datetime:
        """`2020-01-31T12:01:52` / `2020-01-30 14:31:58` in rent_timezone (or with its own offset) -> UTC."""
        text = text_of(value)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _bad(body, f"{what} is not a date") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.rent_timezone)
        return moment.astimezone(UTC)

    # --- calls ---------------------------------------------------------------------

    def _rent_call(self, action: str, *, states: bool = False, **params: object) -> tuple[Any, str]:
        """One call; (JSON, body) of a success, the exception of an error reply. `states`: a bare
        getRentStatus state token is raised as ProviderError(raw=<token>) like its JSON form."""
        self._rent_guard()
        body = self.rent_api.reply(action, **params)
        if states and (body == WAIT_CODE or body in END_STATES):
            raise ProviderError(raw=body)
        data = _json(body, f"{action} reply")
        error = _error(data, body)
        if error is not None:
            raise error
        return data, body

    def _rent_guard(self) -> None:
        """Unsupported where the protocol does not rent; a bad rent config before anything is sent."""
        if not self.supports_rent:
            raise Unsupported()
        self.rent_config_check()

    # --- prices --------------------------------------------------------------------

    def rent_countries(self) -> list[int]:
        """The countries rent_prices asks (see `rent_countries` in the module docstring)."""
        if (self.provider.config or {}).get("rent_countries") is not None:
            return self._rent_config_ints("rent_countries", [0], 0, 10**6)
        flagged = self._countries_marked_for_rent()
        if flagged is not None:
            return flagged
        from upstream.models import Offer

        offered = sorted(set(Offer.objects.filter(provider=self.provider).values_list("country_id", flat=True)))
        return offered or [0]

    def _countries_marked_for_rent(self) -> list[int] | None:
        """getCountries' ids with `"rent": 1`; None when its entries carry no such flag."""
        body = self.rent_api.reply("getCountries")
        data = _json(body, "getCountries reply")
        error = _error(data, body)
        if error is not None:
            raise error
        items = data.values() if isinstance(data, dict) else data if isinstance(data, list) else None
        if items is None:
            raise _bad(body, "getCountries reply is not an object")
        items = [item for item in items if isinstance(item, dict)]
        if not any("rent" in item for item in items):
            return None
        return sorted(_int(item.get("id"), body, "country id") for item in items if text_of(item.get("rent")) == "1")

    def rent_prices(self) -> list[RentPrice]:
        """One getRentServicesAndCountries per (country, hours) of the config; a pair out of stock
        (`OUT_OF_STOCK`, `NO_NUMBERS`) has no entries. A reply whose `countries` do not name the
        country asked is about another one (the upstream's default) and is left out."""
        self._rent_guard()
        hours_list = self._rent_config_ints("rent_hours", DEFAULT_HOURS, 1, MAX_HOURS)
        entries: list[RentPrice] = []
        for country in self.rent_countries():
            for hours in hours_list:
                try:
                    data, body = self._rent_call("getRentServicesAndCountries", rent_time=hours, country=country)
                except NoNumbers:
                    continue
                entries.extend(self._parse_rent_prices(data, body, country, hours))
        return entries

    @staticmethod
    def _parse_rent_prices(data: Any, body: str, country: int, hours: int) -> list[RentPrice]:
        if not isinstance(data, dict) or not isinstance(data.get("services"), (dict, list)):
            raise _bad(body, "getRentServicesAndCountries reply has no services")
        countries = data.get("countries")
        named = countries.values() if isinstance(countries, dict) else countries if isinstance(countries, list) else []
        if countries is not None and country not in {_int(c, body, "country") for c in named}:
            return []
        services = data["services"]
        if services == []:
            return []
        if not isinstance(services, dict):
            raise _bad(body, "getRentServicesAndCountries services are not an object")
        result = []
        for code, offer in services.items():
            if not isinstance(offer, dict) or "cost" not in offer or "quant" not in offer:
                raise _bad(body, f"rent price of {code} has no cost or quant")
            result.append(
                RentPrice(
                    country=country,
                    service=FULL_RENT if code == FULL else code,
                    hours=hours,
                    cost=_decimal(offer["cost"], body, "cost", signed=False),
                    count=max(_int(offer["quant"], body, "quant"), 0),
                )
            )
        return result

    # --- one rental ----------------------------------------------------------------

    def _rented(self, data: Any, body: str, action: str) -> Rented:
        phone = data.get("phone") if isinstance(data, dict) and data.get("status") == "success" else None
        if not isinstance(phone, dict):
            raise _bad(body, f"unexpected reply to {action}")
        upstream_id = text_of(phone.get("id"))
        number = text_of(phone.get("number")).removeprefix("+")
        if not upstream_id.isdigit():
            raise _bad(body, "rent id is not a number")
        if not number.isdigit():
            raise _bad(body, "phone number is not digits")
        end = phone.get("endDate")
        ends_at = None if end in (None, "") else self._local_time(end, body, "endDate")
        return Rented(upstream_id=upstream_id, phone=number, ends_at=ends_at, raw=body)

    def rent(self, request: RentRequest) -> Rented:
        """getRentNumber. The document has no maxPrice and no order id: neither is sent."""
        service = FULL if request.service == FULL_RENT else request.service
        data, body = self._rent_call(
            "getRentNumber", service=service, rent_time=int(request.hours), country=int(request.country)
        )
        return self._rented(data, body, "getRentNumber")

    def rent_status(self, upstream_id: str) -> RentStatus:
        """getRentStatus, every page (newest first upstream; oldest first here, without duplicates:
        an SMS arriving between two pages pushes one down, and the total is re-read each page)."""
        size = self.rent_page_size
        seen: dict[str, RentSms] = {}
        bodies: list[str] = []
        page = 1
        while True:
            try:
                data, body = self._rent_call("getRentStatus", states=True, id=upstream_id, page=page, size=size)
            except ProviderError as exc:
                state = self._state_token(exc.raw)
                if state is None:
                    raise
                if page > 1 and state is RentState.ACTIVE:
                    break  # a later page with nothing on it
                return RentStatus(state=state, sms=_oldest_first(seen), raw=exc.raw)
            bodies.append(body)
            quantity, items = self._parse_status_page(data, body)
            for sms in items:
                seen.setdefault(sms.sms_id, sms)
            if not items or page * size >= quantity:
                break
            page += 1
            if page > MAX_PAGES:
                raise _bad(body, "getRentStatus pages never end")
        return RentStatus(state=RentState.ACTIVE, sms=_oldest_first(seen), raw=bodies[0] if bodies else "")

    @staticmethod
    def _state_token(raw: str) -> RentState | None:
        if raw == WAIT_CODE:
            return RentState.ACTIVE
        return END_STATES.get(raw)

    def _parse_status_page(self, data: Any, body: str) -> tuple[int, list[RentSms]]:
        if not isinstance(data, dict) or data.get("status") != "success":
            raise _bad(body, "unexpected reply to getRentStatus")
        values = data.get("values")
        if values in ([], None):
            values = {}
        if not isinstance(values, (dict, list)):
            raise _bad(body, "getRentStatus values are not an object")
        result = []
        for item in values.values() if isinstance(values, dict) else values:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise _bad(body, "rent SMS without text")
            date, sender, text = text_of(item.get("date")), text_of(item.get("phoneFrom")), item["text"]
            result.append(
                RentSms(
                    sms_id=sms_digest(date, sender, text),
                    text=text,
                    sender=sender,
                    received_at=self._local_time(date, body, "SMS date") if date else None,
                    code=code_in(text),
                )
            )
        quantity = _int(data.get("quantity", len(result)), body, "quantity")
        return quantity, result

    def rent_set_status(self, upstream_id: str, status: RentSetStatus) -> str:
        """setRentStatus; returns "success". CANT_CANCEL is RentCannotCancel, ALREADY_* RentEnded."""
        data, body = self._rent_call("setRentStatus", id=upstream_id, status=int(RentSetStatus(status)))
        if not isinstance(data, dict) or data.get("status") != "success":
            raise _bad(body, "unexpected reply to setRentStatus")
        return "success"

    def rent_prolong(self, upstream_id: str, hours: int) -> Rented:
        """continueRentNumber; the id in the result is the one to use from now on (a new one when
        the upstream reordered an ended rental)."""
        data, body = self._rent_call("continueRentNumber", id=upstream_id, rent_time=int(hours))
        return self._rented(data, body, "continueRentNumber")

    def rent_prolong_price(self, upstream_id: str, hours: int) -> Decimal:
        """What prolonging by `hours` costs (provider currency): continueRentInfo, or the deprecated
        getContinueRentPriceNumber where the upstream does not know it (`BAD_ACTION`)."""
        try:
            data, body = self._rent_call("continueRentInfo", id=upstream_id, hours=int(hours))
        except ProviderError as exc:
            if exc.raw != "BAD_ACTION":
                raise
            data, body = self._rent_call("getContinueRentPriceNumber", id=upstream_id, rent_time=int(hours))
        if not isinstance(data, dict) or data.get("status") != "success" or "price" not in data:
            raise _bad(body, "no price in the prolongation reply")
        return _decimal(data["price"], body, "price", signed=False)

    def rent_list(self) -> list[Rented]:
        """getRentList, every page: our live rentals (id and number; no end date). `NO_NUMBERS`
        there means none."""
        size = self.rent_page_size
        result: dict[str, Rented] = {}
        for page in range(1, MAX_PAGES + 1):
            try:
                data, body = self._rent_call("getRentList", length=size, page=page)
            except NoNumbers:
                break
            values = data.get("values") if isinstance(data, dict) and data.get("status") == "success" else None
            if values in ([], {}):
                break
            if not isinstance(values, (dict, list)):
                raise _bad(body, "unexpected reply to getRentList")
            items = list(values.values() if isinstance(values, dict) else values)
            for item in items:
                upstream_id = text_of(item.get("id")) if isinstance(item, dict) else ""
                phone = text_of(item.get("phone")).removeprefix("+") if isinstance(item, dict) else ""
                if not upstream_id.isdigit() or not phone.isdigit():
                    raise _bad(body, "rent list entry without id or phone")
                result.setdefault(upstream_id, Rented(upstream_id=upstream_id, phone=phone, ends_at=None, raw=body))
            if len(items) < size:
                break
        else:
            raise _bad("", "getRentList pages never end")
        return list(result.values())
