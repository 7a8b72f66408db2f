"""Client of an OTPGet-compatible `stubs/handler_api.php` (OTPGet's API document, product decisions P9, P11): another
reseller of our kind, including another instance of this server.

OTPGet's dialect is SMS-Activate's tokens plus `type`, the upstream's provider slot (1-6), sent on
every call. Only `getCountries` and `getServices` answer JSON, in OTPGet's shapes:
`{"1":[{"id":"61","name":"Pakistan"}]}` and `{"101":"Telegram - 50 PKR"}`. Documented error tokens
become the exceptions of `upstream.providers.base`; anything else (HTML, an empty body, an unknown
token, JSON of the wrong shape, a price label we cannot read) is `BadResponse` with the body in `raw`.
Amounts are `Decimal`, never float.

OTPGet reports no purchase cost (`Purchase.cost` is None) and no stock: `getServices` lists only
services in stock, so a listed service is a `PriceEntry` with `count=1`.

Provider.config options:
- `type` (1-6, default 1): the upstream's provider slot;
- `full_sms` (default false): after `STATUS_OK`, fetch the SMS text with `getFullSms` (an extension
  of this server; OTPGet documents no such action);
- `active_list` (default false): the upstream is another instance of this server, which answers
  `getActiveActivations` in SMS-Activate's shape; OTPGet documents no active list;
- `catalogue_cache_seconds` (default 60): `getCountries`/`getServices` replies are reused within one
  client for this long, so one catalogue sync (countries, services, prices) costs 1 + N calls, not 3 + 2N;
- `timeout_seconds` (http.py).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from upstream.providers import http
from upstream.providers.base import (
    ActiveActivation,
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
from upstream.providers.parsing import GROUPED_AMOUNT, grouped_decimal, text_of

if TYPE_CHECKING:
    from upstream.models import Provider

SLOTS = range(1, 7)
LISTED_COUNT = 1  # getServices lists only services in stock and gives no count

# The error table of OTPGet's API document (plus NO_NUMBERS), by the exception each raises.
ERROR_TOKENS: dict[str, type[ProviderError]] = {
    "NO_NUMBERS": NoNumbers,
    "NO_BALANCE": ProviderNoBalance,
    "BAD_KEY": ProviderBadKey,
    "ACCOUNT_BLOCKED": ProviderBadKey,
    "NO_ACTIVATION": UnknownActivation,
    "BAD_ID": UnknownActivation,
    "EARLY_CANCEL_DENIED": CancelTooEarly,
    "BAD_ACTION": ProviderError,
    "BAD_SERVICE": ProviderError,
    "BAD_COUNTRY": ProviderError,
    "BAD_TYPE": ProviderError,
    "BAD_STATUS": ProviderError,
    "NO_SMS_RECEIVED": ProviderError,
    "STATUS_ALREADY_CHANGED": ProviderError,
    "ERROR_PRICE_CHANGE": ProviderError,
}
PROVIDER_ERROR = re.compile(r"ERROR_PROVIDER_[1-6](?::.*)?", re.DOTALL)

# product decision P11: the success token of each setStatus.
SET_STATUS_TOKENS: dict[SetStatus, str] = {
    SetStatus.READY: "ACCESS_READY",
    SetStatus.RETRY: "ACCESS_RETRY_GET",
    SetStatus.FINISH: "ACCESS_ACTIVATION",
    SetStatus.CANCEL: "ACCESS_CANCEL",
}
NO_ACTIVATIONS = "NO_ACTIVATIONS"

_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")  # the document's example ids are alphanumeric (`abc123`)
_PHONE = re.compile(r"\+?([0-9]{5,32})")
_AMOUNT = GROUPED_AMOUNT  # `60`, `60.00`, `1,200.00` (PHP grouping)
_LABEL = re.compile(rf"(?P<name>.*\S)\s+-\s+(?P<price>{_AMOUNT})\s*PKR", re.DOTALL)  # the last " - " splits
_BALANCE = re.compile(rf"-?(?:{_AMOUNT})")
_SERVICE_ID = re.compile(r"[0-9]{1,64}")


OTPGET = Dialect("otpget", ERROR_TOKENS, patterns=((PROVIDER_ERROR, ProviderError),), max_price=True)
_bad, _json = OTPGET.bad, OTPGET.json


def provider_type(provider: Provider) -> int:
    """config["type"] (default 1): an int or a digit string 1-6; anything else is a misconfigured row
    (`ProviderUnavailable`: nothing is sent)."""
    value = (provider.config or {}).get("type", 1)
    text = text_of(value)
    if not re.fullmatch(r"[0-9]{1,2}", text) or int(text) not in SLOTS:
        raise ProviderUnavailable(message=f"provider slot {provider.slot}: config type must be 1-6: {value!r}")
    return int(text)


def _last_sms(value: Any) -> str | None:
    """The last entry of an active list's `smsCode`/`smsText`: a list, null, or a string,
    possibly bracketed (`"[Your code is 123456]"`)."""
    if isinstance(value, list):
        items = [text_of(item) for item in value]
        items = [item for item in items if item]
        return items[-1] if items else None
    text = text_of(value)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    return text or None


class OtpGetClient(ProviderClient):
    protocol = "otpget"
    native_codes = False  # OTPGet's own country and service ids: mapped through the mapping tables

    def __init__(self, provider: Provider):
        super().__init__(provider)
        self._cache = ReplyCache(lambda: self.config)

    @property
    def config(self) -> dict:
        return self.provider.config or {}

    @property
    def supports_active_list(self) -> bool:  # a property here: it depends on the row's config
        return bool(self.config.get("active_list", False))

    @property
    def upstream_type(self) -> int:
        return provider_type(self.provider)

    @cached_property
    def api(self) -> HandlerApi:
        """Every call sends `type`."""
        return HandlerApi(self.provider, OTPGET, every_call=lambda: {"type": self.upstream_type})

    # --- buying --------------------------------------------------------------------

    def buy(self, request: BuyRequest) -> Purchase:
        params: dict[str, object] = {"service": request.service, "country": int(request.country)}
        if request.max_price is not None:
            params["maxPrice"] = format(Decimal(request.max_price), "f")  # no exponent: 1E+1 -> 10
        body = self.api.reply("getNumber", **params)
        name, _, rest = body.partition(":")
        upstream_id, _, phone = rest.partition(":")
        number = _PHONE.fullmatch(phone.strip())
        if name != "ACCESS_NUMBER" or not _ID.fullmatch(upstream_id) or number is None:
            raise _bad(body, "unexpected reply to getNumber")
        return Purchase(upstream_id=upstream_id, phone=number.group(1), cost=None, raw=body)

    # --- one activation ------------------------------------------------------------

    def status(self, upstream_id: str) -> StatusResult:
        body = self.api.reply("getStatus", id=upstream_id)
        name, sep, argument = body.partition(":")
        code = argument.strip()
        if body == "STATUS_WAIT_CODE":
            return StatusResult(state=UpstreamState.WAITING, raw=body)
        if body == "STATUS_CANCEL":
            return StatusResult(state=UpstreamState.CANCELLED, raw=body)
        if name == "STATUS_WAIT_RETRY" and sep and "\n" not in code:
            return StatusResult(state=UpstreamState.WAIT_RETRY, code=code or None, raw=body)
        if name == "STATUS_OK" and code and "\n" not in code:
            return StatusResult(state=UpstreamState.CODE, code=code, text=self._full_sms(upstream_id), raw=body)
        raise _bad(body, "unexpected reply to getStatus")

    def _full_sms(self, upstream_id: str) -> str | None:
        """The SMS text from `getFullSms` when configured; None when that call fails in any way
        (the code from getStatus is what matters, the text is a courtesy)."""
        if not self.config.get("full_sms", False):
            return None
        try:
            body = self.api.get("getFullSms", id=upstream_id)
        except ProviderError:
            return None
        name, _, text = body.partition(":")
        if name != "FULL_SMS":
            return None
        return text.strip() or None

    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        status = SetStatus(status)
        if status == SetStatus.RETRY and not self.supports_active_list:
            # OTPGet's documented 3 *completes* an activation; only another instance of this
            # server (configured with `active_list`) understands 3 as "another SMS".
            raise Unsupported(message="otpget: setStatus 3 (another SMS) would complete the activation at OTPGet")
        body = self.api.reply("setStatus", id=upstream_id, status=int(status))
        if body != SET_STATUS_TOKENS[status]:
            raise _bad(body, f"unexpected reply to setStatus {int(status)}")
        return body

    def active_activations(self, *, expected: int | None = None) -> list[ActiveActivation]:
        """This server's `getActiveActivations` (SMS-Activate's shape); only when config `active_list`."""
        if not self.supports_active_list:
            raise NotImplementedError("OTPGet documents no active list: set config active_list for this server")
        body = self.api.get("getActiveActivations", max_bytes=http.list_body_limit(self.provider, expected))
        if body == NO_ACTIVATIONS:
            return []
        OTPGET.raise_if_error(body)
        data = _json(body, "getActiveActivations reply")
        items = data.get("activeActivations") if isinstance(data, dict) and data.get("status") == "success" else None
        if not isinstance(items, list):
            raise _bad(body, "unexpected reply to getActiveActivations")
        result = []
        for item in items:
            if not isinstance(item, dict):
                raise _bad(body, "activation entry is not an object")
            upstream_id = text_of(item.get("activationId"))
            phone = _PHONE.fullmatch(text_of(item.get("phoneNumber")))
            if not _ID.fullmatch(upstream_id) or phone is None:
                raise _bad(body, "activation entry without id or phone")
            code = _last_sms(item.get("smsCode"))
            if text_of(item.get("activationStatus")) == "3":
                state = UpstreamState.WAIT_RETRY
            else:
                state = UpstreamState.CODE if code else UpstreamState.WAITING
            text = _last_sms(item.get("smsText")) if state == UpstreamState.CODE else None
            result.append(
                ActiveActivation(
                    upstream_id=upstream_id, phone=phone.group(1), state=state, code=code, text=text, raw=item
                )
            )
        return result

    # --- catalogue and account -----------------------------------------------------

    def countries(self) -> list[CountryEntry]:
        return list(self._cache.get("countries", self._fetch_countries))

    def _fetch_countries(self) -> list[CountryEntry]:
        body = self.api.reply("getCountries")
        data = _json(body, "getCountries reply")
        if data == []:  # PHP encodes an empty array as []
            return []
        if not isinstance(data, dict) or not all(re.fullmatch(r"[0-9]+", str(key)) for key in data):
            raise _bad(body, "getCountries reply is not keyed by provider type")
        # Our type only: the upstream may list other types too ("2": [...]) and omits a type without countries.
        items = data.get(str(self.upstream_type), [])
        if isinstance(items, dict):  # PHP's encoding of a non-sequential array
            items = list(items.values())
        if not isinstance(items, list):
            raise _bad(body, f"countries of type {self.upstream_type} are not a list")
        entries = []
        for item in items:
            country_id = text_of(item.get("id")) if isinstance(item, dict) else ""
            name = item.get("name") if isinstance(item, dict) else None
            if not re.fullmatch(r"[0-9]{1,9}", country_id) or not isinstance(name, str) or not name.strip():
                raise _bad(body, "country entry without a numeric id and a name")
            entries.append(CountryEntry(id=int(country_id), name=name.strip()))
        return entries

    def _listing(self, country: int) -> list[tuple[str, str, Decimal]]:
        """(service id, name, price in PKR) of what `getServices` lists for `country` (in stock)."""
        return list(self._cache.get(f"services:{int(country)}", lambda: self._fetch_listing(int(country))))

    def _fetch_listing(self, country: int) -> list[tuple[str, str, Decimal]]:
        body = self.api.get("getServices", country=country)
        if body == "NO_NUMBERS":  # not documented for getServices; if an upstream says so, it lists nothing
            return []
        OTPGET.raise_if_error(body)
        data = _json(body, "getServices reply")
        if data == []:
            return []
        if not isinstance(data, dict):
            raise _bad(body, "getServices reply is not an object")
        listing = []
        for service_id, label in data.items():
            match = _LABEL.fullmatch(label.strip()) if isinstance(label, str) else None
            if not _SERVICE_ID.fullmatch(service_id) or match is None:
                raise _bad(body, f"service {service_id!r} is not '<id>': '<Name> - <price> PKR'")
            listing.append((service_id, match.group("name").strip(), grouped_decimal(match.group("price"))))
        return listing

    def services(self) -> list[ServiceEntry]:
        """Every service any country lists (its first name wins): OTPGet has no service list of its own."""
        names: dict[str, str] = {}
        for country in self.countries():
            for service_id, name, _ in self._listing(country.id):
                names.setdefault(service_id, name)
        return [ServiceEntry(code=code, name=name) for code, name in names.items()]

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        country_ids = [int(country)] if country is not None else [c.id for c in self.countries()]
        return [
            PriceEntry(country=country_id, service=service_id, cost=price, count=LISTED_COUNT)
            for country_id in country_ids
            for service_id, _, price in self._listing(country_id)
            if service is None or service_id == service
        ]

    def balance(self) -> Decimal:
        body = self.api.reply("getBalance")
        amount = OTPGET.argument(body, "ACCESS_BALANCE", "getBalance").strip()
        if not _BALANCE.fullmatch(amount):
            raise _bad(body, "unexpected reply to getBalance")
        return grouped_decimal(amount)
