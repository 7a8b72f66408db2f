"""Get-SMS's rent API v2 (`https://get-sms.com/api/v2/rent/`): the `rent_*` methods of `GetSmsClient`.

Same envelope as v1 (`{"status": <code>, "data": {...}}`, `userkey`, `method=<name>`, POST form),
at another URL: config `rent_url`, else the provider's base_url with its `/api/v1/` replaced by
`/api/v2/rent/` (a base_url without `/api/v1/` and no `rent_url`: `supports_rent` is False).

Methods: getcountprices (per country: `{"<service>": {"count", "price": {"1day".."7day"}}}`),
getnumber (`type=day|week`, `period`, `service`, `country` slug), getcode (every SMS of a rental,
400 while there is none), prolong, refuse (refund: only in the first 20 minutes and before any
SMS), delete (drops the order from the account's list), getorders (every order ever, a bare array).

Decisions where the document is silent:
- **Periods.** `<n>day` is 24·n hours, `<n>week` 168·n hours. A request is sent as `type=day`
  for 24·n hours with n in 1..7 (168 h is `day`/7, the period getcountprices prices), as
  `type=week` for 168·n hours with n in 2..MAX_WEEKS. Any other `hours` is
  ProviderError("BAD_RENT_PERIOD:<hours>") before anything is sent. `rent_prices` lists the periods
  getcountprices prices (the document shows 1day..7day; `<n>week` keys are read the same way).
- **No full rent**: getnumber requires a service; a FULL_RENT request is
  ProviderError("NO_FULL_RENT"), nothing sent. No price cap, no order reference.
- **Countries**: our numbers as the slugs of `getsms_countries.csv` (+ config `country_slugs`), as
  for activations. `rent_prices` asks getcountprices for each country of config `rent_countries`
  (a list of our numbers; default every mapped country); a country answering an error status other
  than 401 has no rent offer and is skipped.
- **Times** are Moscow time (UTC+3): the document's getnumber sample gives `end_time`
  `2023-12-19 13:17:29` for `end_time_timestamp` 1702981048 (10:17:28 UTC). `Rented.ends_at` is
  the timestamp; SMS `date`s and getorders' `date_at` are read as UTC+3.
- **rent_status** is getcode: 200 ACTIVE with its `sms_list`, 400 ACTIVE without SMS, 502
  ("Rental completed") FINISHED, 501 ("canceled or the rental order time has expired") asks
  getorders: `status` 2 is CANCELLED, anything else FINISHED (the period ran out, paid).
  SMS have no id: `sms_id` is a digest of (date, text, occurrence); no sender, no code (the
  reseller extracts it from the text).
- **rent_set_status**: CANCEL is refuse (`ACCESS_CANCEL`; 400 RentCannotCancel, 501/502
  RentEnded, 503 UnknownActivation). FINISH is `Unsupported`, nothing sent: v2 has no finish
  (`delete` only removes the order from the list, `rent_delete`), the rental runs to its end.
- **rent_prolong** sends the same period mapping; the reply has no new end, so getorders is
  asked for the rental's `date_at` (its failure leaves `ends_at` None: the prolong is done).
  502 UnknownActivation, 505 ProviderNoBalance, 506 ("Unable to extend ... for the specified
  period") RentEnded, 504 ProviderError (bad period).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property
from typing import Any, NoReturn

from upstream.providers.base import (
    FULL_RENT,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
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
from upstream.providers.parsing import RAW_LIMIT

log = logging.getLogger(__name__)

GETSMS_RENT = Dialect("getsms-rent")
_bad, _json = GETSMS_RENT.bad, GETSMS_RENT.json

MOSCOW = timezone(timedelta(hours=3), "MSK")
DAY, WEEK = 24, 168
MAX_DAYS, MAX_WEEKS = 7, 4
OK, NO_SMS = 200, 400
ORDER_CANCELLED = "2"  # getorders status: 0 expired, 1 active, 2 cancelled by the user
TOKEN_CANCEL = "ACCESS_CANCEL"
TOKEN_DELETED = "ORDER_DELETED"

COMMON_ERRORS: dict[int, type[ProviderError]] = {401: ProviderBadKey}
ERRORS: dict[str, dict[int, type[ProviderError]]] = {
    "getnumber": {500: NoNumbers, 504: ProviderNoBalance},
    "getcode": {503: UnknownActivation},
    "prolong": {502: UnknownActivation, 505: ProviderNoBalance, 506: RentEnded},
    "refuse": {400: RentCannotCancel, 501: RentEnded, 502: RentEnded, 503: UnknownActivation},
}
ENDED_CANCELLED_OR_EXPIRED, ENDED_COMPLETED = 501, 502  # getcode
_PERIOD_KEY = re.compile(r"([1-9][0-9]{0,2})(day|week)")
_RENT_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


class _RentEndpoint:
    """The provider row seen at the rent URL (`http.call` reads `base_url` and the rest from it)."""

    def __init__(self, provider: Any, url: str):
        self._provider = provider
        self.base_url = url

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)


def rent_url_of(provider: Any) -> str | None:
    """config `rent_url`, else base_url with `/api/v1/` -> `/api/v2/rent/`; None when neither."""
    configured = (provider.config or {}).get("rent_url")
    if isinstance(configured, str) and configured.strip():
        return configured.strip()
    base = provider.base_url or ""
    if "/api/v1" in base:
        head, _, tail = base.partition("/api/v1")
        return f"{head}/api/v2/rent/{tail.lstrip('/')}"
    return None


def period_of(hours: int) -> tuple[str, int]:
    """(type, period) for `hours`; ProviderError("BAD_RENT_PERIOD:<hours>") when v2 cannot say it."""
    if isinstance(hours, int) and not isinstance(hours, bool) and hours > 0:
        if hours % DAY == 0 and hours // DAY <= MAX_DAYS:
            return "day", hours // DAY
        if hours % WEEK == 0 and hours // WEEK <= MAX_WEEKS:
            return "week", hours // WEEK
    raise ProviderError(raw=f"BAD_RENT_PERIOD:{hours}", message=f"getsms rent: no v2 period for {hours} hours")


def hours_of(key: str) -> int | None:
    """`3day` -> 72, `2week` -> 336; any other key None."""
    match = _PERIOD_KEY.fullmatch(key.strip())
    if match is None:
        return None
    return int(match.group(1)) * (DAY if match.group(2) == "day" else WEEK)


def _moscow(value: Any) -> datetime | None:
    """`2023-12-14 17:11:51` (Moscow time) as an aware UTC datetime; anything else None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=MOSCOW).astimezone(UTC)
    except ValueError:
        return None


def sms_digest(date: str, text: str, occurrence: int) -> str:
    """A stable id for an SMS without one: the same (date, text) twice gets occurrences 0 and 1."""
    return hashlib.sha256(f"{date}\x00{text}\x00{occurrence}".encode()).hexdigest()[:24]


def _raise(method: str, status: int, data: Any, body: str) -> NoReturn:
    error = ERRORS.get(method, {}).get(status) or COMMON_ERRORS.get(status, ProviderError)
    message = data.get("msg") if isinstance(data, dict) else None
    raw = body if len(body) <= RAW_LIMIT else body[:RAW_LIMIT] + "..."
    raise error(raw=raw, message=f"getsms rent {method}: status {status}: {message or raw[:200]}")


def _status_of(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


class GetSmsRentMixin:
    """The rent half of GetSmsClient (needs its `provider` and `_slug`/`_slugs`)."""

    @property
    def supports_rent(self) -> bool:  # type: ignore[override]
        return rent_url_of(self.provider) is not None

    @cached_property
    def rent_api(self) -> HandlerApi:
        url = rent_url_of(self.provider)
        if url is None:
            raise Unsupported(message="getsms: no rent_url and the base_url has no /api/v1/")
        endpoint = _RentEndpoint(self.provider, url)
        return HandlerApi(endpoint, GETSMS_RENT, action_param="method", key_param="userkey", method="POST")

    def _rent_call(self, method: str, **params: object) -> tuple[int, Any, str]:
        """(status, data, body) of one v2 envelope."""
        body = self.rent_api.get(method, **params)
        reply = _json(body, f"{method} reply")
        status = _status_of(reply.get("status")) if isinstance(reply, dict) else None
        if status is None:
            raise _bad(body, f"{method} reply has no status")
        return status, reply.get("data"), body

    def _rent_success(self, method: str, **params: object) -> tuple[Any, str]:
        status, data, body = self._rent_call(method, **params)
        if status != OK:
            _raise(method, status, data, body)
        return data, body

    # --- catalogue -----------------------------------------------------------------

    def _rent_countries(self) -> list[int]:
        configured = (self.provider.config or {}).get("rent_countries")
        if configured is None:
            return sorted(self._slugs)
        if not isinstance(configured, list) or not all(str(item).isdigit() for item in configured):
            raise ProviderError(raw="BAD_CONFIG", message="getsms: config rent_countries must be a list of numbers")
        return [int(item) for item in configured]

    def rent_prices(self) -> list[RentPrice]:
        prices: list[RentPrice] = []
        for country in self._rent_countries():
            status, data, body = self._rent_call("getcountprices", country=self._slug(country))
            if status != OK:
                if status in COMMON_ERRORS:
                    _raise("getcountprices", status, data, body)
                log.debug("getsms slot %s: no rent offer in %s (status %s)", self.provider.slot, country, status)
                continue
            prices.extend(self._country_rent_prices(country, data, body))
        return prices

    def _country_rent_prices(self, country: int, data: Any, body: str) -> list[RentPrice]:
        if data in ([], {}, None):
            return []
        if not isinstance(data, dict):
            raise _bad(body, "getcountprices data is not an object")
        prices = []
        for service, offer in data.items():
            if not isinstance(offer, dict) or not isinstance(offer.get("price"), dict) or "count" not in offer:
                raise _bad(body, f"rent offer {service!r} has no count and price object")
            count = GETSMS_RENT.int(offer["count"], body, "count", signed=False)
            for key, cost in offer["price"].items():
                hours = hours_of(str(key))
                if hours is None:
                    log.debug("getsms slot %s: rent period %r not understood, skipped", self.provider.slot, key)
                    continue
                amount = GETSMS_RENT.decimal(cost, body, f"{service} {key} price", signed=False)
                prices.append(RentPrice(country=country, service=service, hours=hours, cost=amount, count=count))
        return prices

    # --- one rental ----------------------------------------------------------------

    def rent(self, request: RentRequest) -> Rented:
        if request.service == FULL_RENT:
            raise ProviderError(raw="NO_FULL_RENT", message="getsms rent: getnumber needs a service")
        kind, period = period_of(request.hours)
        slug = self._slug(request.country)
        data, body = self._rent_success("getnumber", type=kind, period=period, service=request.service, country=slug)
        if not isinstance(data, dict):
            raise _bad(body, "getnumber reply without data")
        order_id, phone = _text(data.get("order_id")), (_text(data.get("phone")) or "").removeprefix("+")
        if order_id is None or not _RENT_ID.fullmatch(order_id):
            raise _bad(body, "getnumber reply without a usable order_id")
        if not phone.isdigit():
            raise _bad(body, "phone number is not digits")
        ends = data.get("end_time_timestamp")
        ends_at = None
        if ends is not None:
            ends_at = datetime.fromtimestamp(GETSMS_RENT.int(ends, body, "end_time_timestamp", signed=False), UTC)
        return Rented(upstream_id=order_id, phone=phone, ends_at=ends_at or _moscow(data.get("end_time")), raw=body)

    def rent_status(self, upstream_id: str) -> RentStatus:
        status, data, body = self._rent_call("getcode", rentid=upstream_id)
        if status == NO_SMS:
            return RentStatus(state=RentState.ACTIVE, raw=body)
        if status == ENDED_COMPLETED:
            return RentStatus(state=RentState.FINISHED, raw=body)
        if status == ENDED_CANCELLED_OR_EXPIRED:
            order = self._order(upstream_id)
            cancelled = order is not None and _text(order.get("status")) == ORDER_CANCELLED
            return RentStatus(state=RentState.CANCELLED if cancelled else RentState.FINISHED, raw=body)
        if status != OK:
            _raise("getcode", status, data, body)
        listed = data.get("sms_list") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            raise _bad(body, "getcode reply without an sms_list")
        return RentStatus(state=RentState.ACTIVE, sms=self._messages(listed, body), raw=body)

    @staticmethod
    def _messages(listed: list, body: str) -> tuple[RentSms, ...]:
        seen: dict[tuple[str, str], int] = {}
        messages = []
        for item in listed:
            date, text = (item.get("date"), item.get("text")) if isinstance(item, dict) else (None, None)
            if not isinstance(date, str) or not isinstance(text, str):
                raise _bad(body, "an SMS without a date and a text")
            occurrence = seen.get((date, text), 0)
            seen[(date, text)] = occurrence + 1
            messages.append(
                RentSms(sms_id=sms_digest(date, text, occurrence), text=text, sender="", received_at=_moscow(date))
            )
        return tuple(messages)

    def rent_set_status(self, upstream_id: str, status: RentSetStatus) -> str:
        status = RentSetStatus(status)
        if status == RentSetStatus.FINISH:
            raise Unsupported(message="getsms rent: v2 has no finish; the rental runs to its end")
        self._rent_success("refuse", rentid=upstream_id)
        return TOKEN_CANCEL

    def rent_prolong(self, upstream_id: str, hours: int) -> Rented:
        kind, period = period_of(hours)
        data, body = self._rent_success("prolong", type=kind, period=period, rentid=upstream_id)
        phone = (_text(data.get("phone")) if isinstance(data, dict) else None) or ""
        try:
            order = self._order(upstream_id)
        except ProviderError as exc:  # the prolong is done; only its new end is unknown
            log.warning("getsms slot %s: getorders after prolong failed: %s", self.provider.slot, exc)
            order = None
        if order is not None:
            phone = phone or (_text(order.get("phone")) or "")
        ends_at = _moscow(order.get("date_at")) if order is not None else None
        return Rented(upstream_id=upstream_id, phone=phone.removeprefix("+"), ends_at=ends_at, raw=body)

    def rent_delete(self, upstream_id: str) -> str:
        """delete: the order leaves the account's list (getorders). Returns ORDER_DELETED."""
        self._rent_success("delete", rentid=upstream_id)
        return TOKEN_DELETED

    def rent_orders(self) -> list[dict]:
        """getorders: every order of the account (`id`, `phone`, `status` 0/1/2, `date_at`), as sent."""
        body = self.rent_api.get("getorders")
        reply = _json(body, "getorders reply")
        if isinstance(reply, dict) and "status" in reply:  # an error envelope
            status = _status_of(reply.get("status"))
            if status is None or status == OK:
                raise _bad(body, "getorders reply is not a list")
            _raise("getorders", status, reply.get("data"), body)
        if not isinstance(reply, list) or not all(isinstance(item, dict) for item in reply):
            raise _bad(body, "getorders reply is not a list of orders")
        return reply

    def _order(self, upstream_id: str) -> dict | None:
        for order in self.rent_orders():
            if _text(order.get("id")) == str(upstream_id):
                return order
        return None
