"""Client of Get-SMS's own API v1 (Get-SMS's API document, `https://get-sms.com/api/v1/`), protocol `getsms`.

One request per call (`method=<name>`, our key as `userkey`); the reply is JSON
`{"status": <code>, "data": {...}}`: 200 is success, the other codes are
documented per method (`ERRORS`) and become `base.py` exceptions; getallcount
alone answers success as a bare map of countries. HTML, an empty body, JSON of
the wrong shape, an HTTP 3xx/4xx/5xx are `BadResponse`. Numbers are `Decimal`.

Transport: the handler_api transport (`handler_api.HandlerApi`) with `method=<name>`, our key as
`userkey` and `POST`: the parameters and our key go as a form body, as the document allows
("GET or POST"), so the key is never in a URL and no log line or exception message can show it.

Decisions where the document is silent:
- Our country numbers are sent as the slugs of upstream/data/getsms_countries.csv;
  an unmapped number is ProviderError("UNMAPPED_COUNTRY:<n>"), nothing sent.
- getnumber takes no price cap, operator or order reference and tells no cost:
  those BuyRequest fields are not sent, `Purchase.cost` is None.
- `status`: getcode (400 WAITING, 500 "order lifetime expired" CANCELLED); with
  an SMS it follows wrongcode from that SMS's id to the newest, so the SMS after
  a RETRY shows as a new code (if that follow-up fails, getcode's SMS stands).
- `set_status`: RETRY is getcode then wrongcode from the newest SMS
  (ACCESS_RETRY_GET); CANCEL is refusenumber (ACCESS_CANCEL); READY and FINISH
  have no v1 method (an order ends by itself after 15 minutes, charged only if
  an SMS came): nothing is sent, ACCESS_READY / ACCESS_ACTIVATION are returned.
  `ban()` is bannumber (ACCESS_BANNED).
- `prices(country=n)` is getcount (its "ANY" operator); otherwise getallcount
  (with `service` if given), countries without a number left out. `services`
  and `countries` are the document's lists (upstream/data/*.csv), no call.
- getbalance: the document's `"balance": 100,00` (not JSON) reads as 100.00.
- No v1 method lists live orders: `supports_active_list` is False.
- Rentals are the rent API v2 (`upstream.providers.getsms_rent`, mixed in).

Provider.config: `country_slugs` ({"<our number>": "<slug>"}: adds to or
overrides the table), `rent_url` and `rent_countries` (getsms_rent.py), `timeout_seconds` (http.py).
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NoReturn

from upstream.providers.base import (
    BuyRequest,
    CountryEntry,
    NoNumbers,
    PriceEntry,
    ProviderBadKey,
    ProviderClient,
    ProviderError,
    ProviderNoBalance,
    Purchase,
    ServiceEntry,
    SetStatus,
    StatusResult,
    UnknownActivation,
    UpstreamState,
)
from upstream.providers.getsms_rent import GetSmsRentMixin
from upstream.providers.handler_api import Dialect, HandlerApi
from upstream.providers.parsing import RAW_LIMIT

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
COUNTRIES_CSV = DATA_DIR / "getsms_countries.csv"
SERVICES_CSV = DATA_DIR / "services.csv"
MAX_EXTRA_SMS = 20  # wrongcode steps followed in one status call
ANY_OPERATOR = "ANY"

TOKEN_READY = "ACCESS_READY"  # nothing sent
TOKEN_RETRY = "ACCESS_RETRY_GET"
TOKEN_FINISH = "ACCESS_ACTIVATION"  # nothing sent
TOKEN_CANCEL = "ACCESS_CANCEL"
TOKEN_BANNED = "ACCESS_BANNED"

OK, WAITING, EXPIRED = 200, 400, 500
# Documented codes with a meaning of their own. Every other status that is not 200 is ProviderError, the
# documented ones included: 404 (bad method), 500 (processing error; on wrongcode/refusenumber/bannumber
# "order lifetime expired"), 501, 502 (internal error; on getnumber unknown service), 503 (unknown operator),
# 504 on wrongcode (no first SMS yet), 505 on getnumber (unknown country), 506 (blocked until tomorrow;
# elsewhere no order_id), 507 (maintenance). getcode's 400 (waiting) and 500 (expired) are states.
COMMON_ERRORS: dict[int, type[ProviderError]] = {401: ProviderBadKey}
ERRORS: dict[str, dict[int, type[ProviderError]]] = {
    "getnumber": {500: NoNumbers, 504: ProviderNoBalance},
    "getcode": {504: ProviderNoBalance, 505: UnknownActivation},
    "wrongcode": {505: UnknownActivation},
}
_COMMA_BALANCE = re.compile(r'("balance"\s*:\s*)(-?\d+),(\d+)(?=\s*[,}])')
_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


# --- parsing -----------------------------------------------------------------------


GETSMS = Dialect("getsms")  # no error tokens: errors are JSON envelopes (`ERRORS`)
_bad, _json = GETSMS.bad, GETSMS.json


def _decimal(value: Any, body: str, what: str, *, integer: bool = False) -> Decimal:
    return GETSMS.decimal(value, body, what, integer=integer)


def _code_of(value: Any) -> int | None:
    """A JSON status code: an integer or a string of digits; anything else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _raise(method: str, status: int, data: Any, body: str) -> NoReturn:
    error = ERRORS.get(method, {}).get(status) or COMMON_ERRORS.get(status, ProviderError)
    message = data.get("msg") if isinstance(data, dict) else None
    raw = body if len(body) <= RAW_LIMIT else body[:RAW_LIMIT] + "..."
    raise error(raw=raw, message=f"getsms {method}: status {status}: {message or raw[:200]}")


def _text(value: Any) -> str | None:
    """A JSON string or integer as stripped text; empty, null, bool and objects as None."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


@dataclass(frozen=True)
class _Sms:
    id: str | None  # the last_id of the next wrongcode
    code: str | None
    text: str | None
    body: str


def _sms(data: Any, body: str) -> _Sms:
    if not isinstance(data, dict):
        raise _bad(body, "SMS reply without data")
    code, text = _text(data.get("code")), data.get("fullSms")
    text = text if isinstance(text, str) and text.strip() else None
    if code is None and text is None:
        raise _bad(body, "SMS reply without code or text")
    return _Sms(id=_text(data.get("id")), code=code, text=text, body=body)


@lru_cache(maxsize=2)
def _read_csv(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple({key: value.strip() for key, value in row.items()} for row in csv.DictReader(handle))


class GetSmsClient(GetSmsRentMixin, ProviderClient):
    protocol = "getsms"
    supports_active_list = False

    # --- plumbing ------------------------------------------------------------------

    @cached_property
    def api(self) -> HandlerApi:
        """POST `method=<name>` and our `userkey` as a form (the key stays out of URLs and logs)."""
        return HandlerApi(self.provider, GETSMS, action_param="method", key_param="userkey", method="POST")

    def _call(self, method: str, **params: object) -> str:
        """One call; the body stripped of whitespace and BOM, never empty, never an HTML page."""
        return self.api.get(method, **params)

    def _envelope(self, method: str, **params: object) -> tuple[int, Any, str]:
        """(status, data, body) of a `{"status": ..., "data": ...}` reply."""
        body = self._call(method, **params)
        # getbalance: the document's bare `"balance": 100,00` read as "100.00" (valid JSON never matches).
        text = _COMMA_BALANCE.sub(r'\1"\2.\3"', body) if method == "getbalance" else body
        reply = _json(body, f"{method} reply", text)
        status = _code_of(reply.get("status")) if isinstance(reply, dict) else None
        if status is None:
            raise _bad(body, f"{method} reply has no status")
        return status, reply.get("data"), body

    def _success(self, method: str, **params: object) -> tuple[Any, str]:
        """(data, body) of a status-200 reply; any other status raises its exception."""
        status, data, body = self._envelope(method, **params)
        if status != OK:
            _raise(method, status, data, body)
        return data, body

    @cached_property
    def _slugs(self) -> dict[int, str]:
        """Our country number -> Get-SMS slug: the reference table, then config `country_slugs`."""
        slugs = {int(row["sms_activate_id"]): row["slug"] for row in _read_csv(COUNTRIES_CSV)}
        extra = (self.provider.config or {}).get("country_slugs") or {}
        if not isinstance(extra, dict):
            raise ProviderError(raw="BAD_CONFIG", message="getsms: config country_slugs must be an object")
        for number, slug in extra.items():
            if not str(number).isdigit() or not isinstance(slug, str) or not slug.strip():
                raise ProviderError(raw="BAD_CONFIG", message=f"getsms: bad country_slugs entry {number!r}")
            slugs[int(number)] = slug.strip()
        return slugs

    def _slug(self, country: int) -> str:
        if int(country) not in self._slugs:
            raise ProviderError(raw=f"UNMAPPED_COUNTRY:{country}", message=f"getsms: no slug for country {country}")
        return self._slugs[int(country)]

    # --- buying --------------------------------------------------------------------

    def buy(self, request: BuyRequest) -> Purchase:
        data, body = self._success("getnumber", service=request.service, country=self._slug(request.country))
        if not isinstance(data, dict):
            raise _bad(body, "getnumber reply without data")
        order_id, phone = _text(data.get("order_id")), (_text(data.get("phone")) or "").removeprefix("+")
        if order_id is None or not _ORDER_ID.fullmatch(order_id):
            raise _bad(body, "getnumber reply without a usable order_id")
        if not phone.isdigit():
            raise _bad(body, "phone number is not digits")
        return Purchase(upstream_id=order_id, phone=phone, cost=None, raw=body)

    # --- one order -----------------------------------------------------------------

    def status(self, upstream_id: str) -> StatusResult:
        status, data, body = self._envelope("getcode", order_id=upstream_id)
        if status == WAITING:
            return StatusResult(state=UpstreamState.WAITING, raw=body)
        if status == EXPIRED:
            return StatusResult(state=UpstreamState.CANCELLED, raw=body)
        if status != OK:
            _raise("getcode", status, data, body)
        sms = self._newest(upstream_id, _sms(data, body), strict=False)
        return StatusResult(state=UpstreamState.CODE, code=sms.code, text=sms.text, raw=sms.body)

    def _newest(self, order_id: str, sms: _Sms, *, strict: bool) -> _Sms:
        """Follow wrongcode from `sms` while it answers another SMS; the newest one.
        `strict`: its errors raise; else they end the walk (the SMS already found is what counts)."""
        for _ in range(MAX_EXTRA_SMS):
            try:
                status, data, body = self._envelope("wrongcode", order_id=order_id, last_id=sms.id or order_id)
                if status == WAITING:
                    return sms
                if status != OK:
                    _raise("wrongcode", status, data, body)
                following = _sms(data, body)
            except ProviderError:
                if strict:
                    raise
                return sms
            if following.id is None or following.id == sms.id:
                return following  # no id to go further from
            sms = following
        return sms

    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        if status == SetStatus.READY:
            return TOKEN_READY
        if status == SetStatus.FINISH:
            return TOKEN_FINISH
        if status == SetStatus.RETRY:
            data, body = self._success("getcode", order_id=upstream_id)  # 400 (no SMS yet), 500 (expired) raise
            self._newest(upstream_id, _sms(data, body), strict=True)
            return TOKEN_RETRY
        if status == SetStatus.CANCEL:
            self._success("refusenumber", order_id=upstream_id)
            return TOKEN_CANCEL
        raise ValueError(f"unknown status {status!r}")

    def ban(self, upstream_id: str) -> str:
        """bannumber: the number does not suit the service. Returns ACCESS_BANNED."""
        self._success("bannumber", order_id=upstream_id)
        return TOKEN_BANNED

    # --- catalogue and account -----------------------------------------------------

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        if country is not None:
            return self._country_prices(int(country), service)
        body = self._call("getallcount", service=service or None)
        data = _json(body, "getallcount reply")
        if isinstance(data, dict) and "status" in data:  # an error envelope (no country is called "status")
            status = _code_of(data["status"])
            if status is None:
                raise _bad(body, "getallcount reply has a bad status")
            if status != OK:
                _raise("getallcount", status, data.get("data"), body)
            data = data.get("data")
        if data == []:  # an empty map, as PHP encodes it
            return []
        if not isinstance(data, dict):
            raise _bad(body, "getallcount reply is not an object")
        numbers = {slug: number for number, slug in self._slugs.items()}
        entries = []
        for slug, offers in data.items():
            number = numbers.get(slug)
            if number is None:
                log.debug("getsms slot %s: country %r has no number, skipped", self.provider.slot, slug)
                continue
            # With a service: {"ru": {"price", "count_all"}}; without: {"ru": [{"vk": {...}, ...}]}.
            for group in offers if isinstance(offers, list) else [offers]:
                if group in ([], {}):
                    continue
                if not isinstance(group, dict):
                    raise _bad(body, f"offers of {slug} are not an object")
                pairs = [(service, group)] if service else list(group.items())
                entries.extend(self._entry(number, code, offer, "count_all", body) for code, offer in pairs)
        return entries

    def _country_prices(self, country: int, service: str | None) -> list[PriceEntry]:
        data, body = self._success("getcount", country=self._slug(country))
        if data in ([], {}):
            return []
        if not isinstance(data, dict):
            raise _bad(body, "getcount data is not an object")
        offers = data.get(ANY_OPERATOR, {})
        if offers == []:
            return []
        if not isinstance(offers, dict):
            raise _bad(body, "getcount ANY is not an object")
        return [
            self._entry(country, code, offer, "count", body)
            for code, offer in offers.items()
            if service in (None, "", code)
        ]

    @staticmethod
    def _entry(country: int, service: str, offer: Any, count_key: str, body: str) -> PriceEntry:
        if not isinstance(offer, dict) or "price" not in offer or count_key not in offer:
            raise _bad(body, f"offer {service}/{country} has no price or {count_key}")
        return PriceEntry(
            country=country,
            service=service,
            cost=_decimal(offer["price"], body, "price"),
            count=int(_decimal(offer[count_key], body, count_key, integer=True)),
        )

    def countries(self) -> list[CountryEntry]:
        names = {int(row["sms_activate_id"]): row["name"] for row in _read_csv(COUNTRIES_CSV)}
        return [CountryEntry(id=number, name=names.get(number, slug)) for number, slug in self._slugs.items()]

    def services(self) -> list[ServiceEntry]:
        return [ServiceEntry(code=row["code"], name=row["name"]) for row in _read_csv(SERVICES_CSV)]

    def balance(self) -> Decimal:
        data, body = self._success("getbalance")
        value = data.get("balance") if isinstance(data, dict) else None
        if isinstance(value, str) and value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")
        return _decimal(value, body, "balance")
