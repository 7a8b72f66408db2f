"""Client of SMS-Activate's `stubs/handler_api.php` (SMS-Activate's API document), our main upstream protocol.

Replies are either a bare token (`ACCESS_NUMBER:id:phone`, `STATUS_OK:code`,
`NO_NUMBERS`) or JSON. Documented error tokens become the exceptions of
`upstream.providers.base`; anything else that does not parse (HTML, an empty
body, JSON of the wrong shape, a non-numeric amount) is `BadResponse` with the
body in `raw`. JSON numbers are read as `Decimal`, never float.

Provider.config options: `use_v2` (default true: buy with `getNumberV2`, which
gives the cost and takes our `orderId`), `full_text` (default true: fetch the
SMS text with `getStatusV2` once a code arrives), `timeout_seconds` (http.py); the
rent API's keys (`rent_hours`, `rent_countries`, `rent_timezone`, `rent_page_size`)
are described in `upstream.providers.sms_activate_rent`.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cached_property
from typing import Any

from upstream.providers import http
from upstream.providers.base import (
    ActiveActivation,
    BuyRequest,
    CancelTooEarly,
    CountryEntry,
    ExtraImpossible,
    ExtraNotAvailable,
    NoNumbers,
    OperatorEntry,
    PriceEntry,
    ProviderBadKey,
    ProviderClient,
    ProviderError,
    ProviderNoBalance,
    Purchase,
    ServiceEntry,
    SetStatus,
    SimOffline,
    StatusResult,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.providers.handler_api import Dialect, HandlerApi
from upstream.providers.parsing import text_of
from upstream.providers.sms_activate_rent import SmsActivateRent
from upstream.providers.sms_activate_reuse import SmsActivateReuse, raise_if_json_error

# Documented error tokens (exact match), by the exception they raise.
ERROR_TOKENS: dict[str, type[ProviderError]] = {
    "NO_NUMBERS": NoNumbers,
    "NO_BALANCE": ProviderNoBalance,
    "BAD_KEY": ProviderBadKey,
    "NO_ACTIVATION": UnknownActivation,
    "WRONG_ACTIVATION_ID": UnknownActivation,
    "INVALID_ACTIVATION_ID": UnknownActivation,
    "EARLY_CANCEL_DENIED": CancelTooEarly,
    "ERROR_SQL": ProviderError,
    "BAD_ACTION": ProviderError,
    "BAD_SERVICE": ProviderError,
    "WRONG_SERVICE": ProviderError,
    "BAD_STATUS": ProviderError,
    "CHANNELS_LIMIT": ProviderError,
    "ORDER_ALREADY_EXISTS": ProviderError,
    "WRONG_EXCEPTION_PHONE": ProviderError,
    "ACCOUNT_INACTIVE": ProviderError,
    "SERVER_ERROR": ProviderError,
    "RENEW_ACTIVATION_NOT_AVAILABLE": ExtraNotAvailable,
    "NEW_ACTIVATION_IMPOSSIBLE": ExtraImpossible,
    "SIM_OFFLINE": SimOffline,
}
# Error tokens with an argument after the first ':'.
BANNED = re.compile(r"BANNED:.*", re.DOTALL)

WAITING_TOKENS = {"STATUS_WAIT_CODE", "STATUS_WAIT_RESEND"}
SET_STATUS_TOKENS = {"ACCESS_READY", "ACCESS_RETRY_GET", "ACCESS_ACTIVATION", "ACCESS_CANCEL"}
NO_ACTIVATIONS = "NO_ACTIVATIONS"
OPERATORS_NOT_FOUND = "OPERATORS_NOT_FOUND"


SMS_ACTIVATE = Dialect("smsactivate", ERROR_TOKENS, patterns=((BANNED, ProviderError),), max_price=True)
_bad, _json, _decimal, _int = SMS_ACTIVATE.bad, SMS_ACTIVATE.json, SMS_ACTIVATE.decimal, SMS_ACTIVATE.int


def _raise_if_json_error(data: Any, body: str) -> None:
    """`{"status":"error","message"|"error":"<TOKEN>"}`: the token's exception, or ProviderError."""
    raise_if_json_error(SMS_ACTIVATE, data, body)


def _phone(value: Any, body: str) -> str:
    phone = text_of(value).removeprefix("+")
    if not phone.isdigit():
        raise _bad(body, "phone number is not digits")
    return phone


def _activation_id(value: Any, body: str) -> str:
    upstream_id = text_of(value)
    if not upstream_id.isdigit():
        raise _bad(body, "activation id is not a number")
    return upstream_id


def _format_amount(amount: Decimal) -> str:
    """`maxPrice` without an exponent: Decimal('1E+1') -> '10', Decimal('12.50') -> '12.50'."""
    return format(Decimal(amount), "f")


def _last_text(value: Any) -> str | None:
    """The last SMS of getActiveActivations' `smsCode`/`smsText`: a list, a JSON list in a string,
    a bracketed string (`"[Your CODE registration code]"` in the document) or a plain string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                value = json.loads(text)
            except ValueError:
                return text[1:-1].strip() or None
        else:
            return text or None
    if isinstance(value, list):
        items = [str(item).strip() for item in value if item is not None and str(item).strip()]
        return items[-1] if items else None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return None


class SmsActivateClient(SmsActivateRent, SmsActivateReuse, ProviderClient):
    """Activations here; rentals (`rent_*`, `supports_rent`) in `sms_activate_rent.SmsActivateRent`;
    multi-service numbers and extra activations in `sms_activate_reuse.SmsActivateReuse`."""

    protocol = "smsactivate"
    supports_active_list = True
    active_list_codes = True  # serviceCode and countryCode: the codes getNumber was sent
    supports_rent = True
    takes_operator = True
    takes_phone_exception = True

    dialect: Dialect = SMS_ACTIVATE

    @cached_property
    def api(self) -> HandlerApi:
        return HandlerApi(self.provider, self.dialect)

    # --- buying --------------------------------------------------------------------

    def buy(self, request: BuyRequest) -> Purchase:
        use_v2 = bool((self.provider.config or {}).get("use_v2", True))
        params: dict[str, object] = {"service": request.service, "country": int(request.country)}
        if request.max_price is not None:
            params["maxPrice"] = _format_amount(request.max_price)
        if request.operator and self.takes_operator:
            params["operator"] = request.operator
        if request.phone_exception and self.takes_phone_exception:
            params["phoneException"] = ",".join(request.phone_exception)
        if use_v2 and request.order_ref:
            params["orderId"] = request.order_ref
        body = self.api.reply("getNumberV2" if use_v2 else "getNumber", **params)
        if use_v2 and not body.startswith("ACCESS_NUMBER:"):  # compatible providers may answer V2 in V1 form
            return self._parse_v2(body)
        return self._parse_v1(body)

    @staticmethod
    def _parse_v1(body: str) -> Purchase:
        name, _, rest = body.partition(":")
        upstream_id, _, phone = rest.partition(":")
        if name != "ACCESS_NUMBER":
            raise _bad(body, "unexpected reply to getNumber")
        return Purchase(upstream_id=_activation_id(upstream_id, body), phone=_phone(phone, body), cost=None, raw=body)

    @staticmethod
    def _parse_v2(body: str) -> Purchase:
        data = _json(body, "getNumberV2 reply")
        _raise_if_json_error(data, body)
        if not isinstance(data, dict) or "activationId" not in data or "phoneNumber" not in data:
            raise _bad(body, "unexpected reply to getNumberV2")
        cost = data.get("activationCost")
        operator = data.get("activationOperator")
        return Purchase(
            upstream_id=_activation_id(data["activationId"], body),
            phone=_phone(data["phoneNumber"], body),
            cost=None if cost is None else _decimal(cost, body, "activationCost"),
            operator=operator if isinstance(operator, str) and operator else "any",
            raw=body,
        )

    # --- one activation ------------------------------------------------------------

    def status(self, upstream_id: str) -> StatusResult:
        body = self.api.reply("getStatus", id=upstream_id)
        name, _, argument = body.partition(":")
        code = argument.strip() or None
        if body in WAITING_TOKENS:
            return StatusResult(state=UpstreamState.WAITING, raw=body)
        if body == "STATUS_CANCEL":
            return StatusResult(state=UpstreamState.CANCELLED, raw=body)
        if name == "STATUS_WAIT_RETRY":
            return StatusResult(state=UpstreamState.WAIT_RETRY, code=code, raw=body)
        if name == "STATUS_OK" and code:
            return StatusResult(state=UpstreamState.CODE, code=code, text=self._full_text(upstream_id), raw=body)
        raise _bad(body, "unexpected reply to getStatus")

    def _full_text(self, upstream_id: str) -> str | None:
        """The SMS text from getStatusV2; None when disabled or when that call fails in any way
        (the code from getStatus is what matters, the text is a courtesy)."""
        if not (self.provider.config or {}).get("full_text", True):
            return None
        try:
            body = self.api.reply("getStatusV2", id=upstream_id)
            data = _json(body, "getStatusV2 reply")
        except ProviderError:
            return None
        if not isinstance(data, dict):
            return None
        for key in ("sms", "call"):
            part = data.get(key)
            if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"].strip():
                return part["text"]
        return None

    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        body = self.api.reply("setStatus", id=upstream_id, status=int(status))
        if body not in SET_STATUS_TOKENS:
            raise _bad(body, "unexpected reply to setStatus")
        return body

    def active_activations(self, *, expected: int | None = None) -> list[ActiveActivation]:
        body = self.api.get("getActiveActivations", max_bytes=http.list_body_limit(self.provider, expected))
        if body == NO_ACTIVATIONS:
            return []
        self.dialect.raise_if_error(body)
        data = _json(body, "getActiveActivations reply")
        if isinstance(data, dict) and data.get("status") == "error":
            if NO_ACTIVATIONS in (data.get("message"), data.get("error")):
                return []
            _raise_if_json_error(data, body)
        items = data.get("activeActivations") if isinstance(data, dict) and data.get("status") == "success" else None
        if not isinstance(items, (list, dict)):
            raise _bad(body, "unexpected reply to getActiveActivations")
        result = []
        append, waiting, coded = result.append, UpstreamState.WAITING, UpstreamState.CODE
        for item in items.values() if isinstance(items, dict) else items:  # tens of thousands: kept lean
            if not isinstance(item, dict):
                raise _bad(body, "activation entry is not an object")
            sms = item.get("smsCode")
            code = None if sms is None or sms == "" else _last_text(sms)  # most are still waiting
            append(
                ActiveActivation(
                    upstream_id=_activation_id(item.get("activationId"), body),
                    phone=_phone(item.get("phoneNumber"), body),
                    state=coded if code else waiting,
                    code=code,
                    text=_last_text(item.get("smsText")) if code else None,
                    raw=item,
                )
            )
        return result

    # --- catalogue and account -----------------------------------------------------

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        body = self.api.reply("getPrices", country=country, service=service)
        data = _json(body, "getPrices reply")
        _raise_if_json_error(data, body)
        if data == []:  # PHP encodes an empty array as []
            return []
        if not isinstance(data, dict):
            raise _bad(body, "getPrices reply is not an object")
        entries = []
        for country_key, by_service in data.items():
            country_id = _int(country_key, body, "country")
            if by_service == []:
                continue
            if not isinstance(by_service, dict):
                raise _bad(body, f"prices of country {country_key} are not an object")
            for code, offer in by_service.items():
                if not isinstance(offer, dict) or "cost" not in offer or "count" not in offer:
                    raise _bad(body, f"price of {code}/{country_key} has no cost or count")
                entries.append(
                    PriceEntry(
                        country=country_id,
                        service=code,
                        cost=_decimal(offer["cost"], body, "cost"),
                        count=_int(offer["count"], body, "count"),
                    )
                )
        return entries

    def countries(self) -> list[CountryEntry]:
        body = self.api.reply("getCountries")
        data = _json(body, "getCountries reply")
        _raise_if_json_error(data, body)
        # Keyed by id ({"0":{...}}), or a list when PHP saw sequential keys.
        items = data.values() if isinstance(data, dict) else data if isinstance(data, list) else None
        if items is None:
            raise _bad(body, "getCountries reply is not an object")
        entries = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("eng"), str):
                raise _bad(body, "country entry has no eng name")
            entries.append(CountryEntry(id=_int(item.get("id"), body, "country id"), name=item["eng"]))
        return entries

    def services(self) -> list[ServiceEntry]:
        body = self.api.reply("getServicesList")
        data = _json(body, "getServicesList reply")
        _raise_if_json_error(data, body)
        items = data.get("services") if isinstance(data, dict) and data.get("status") == "success" else None
        if not isinstance(items, list):
            raise _bad(body, "unexpected reply to getServicesList")
        entries = []
        for item in items:
            code, name = (item.get("code"), item.get("name")) if isinstance(item, dict) else (None, None)
            if not isinstance(code, str) or not code or not isinstance(name, str):
                raise _bad(body, "service entry without code or name")
            entries.append(ServiceEntry(code=code, name=name))
        return entries

    def operators(self) -> list[OperatorEntry]:
        """getOperators without `country`: `{"status":"success","countryOperators":{"1":["life",...]}}`
        (SMS-Activate's API document); `OPERATORS_NOT_FOUND` (no records) is an empty list."""
        body = self.api.get("getOperators")
        if body == OPERATORS_NOT_FOUND:
            return []
        if body == "BAD_ACTION":  # a compatible upstream without the action: no operator list
            raise Unsupported(message=f"{self.protocol}: no getOperators")
        self.dialect.raise_if_error(body)
        data = _json(body, "getOperators reply")
        if isinstance(data, dict) and data.get("status") == "error":
            if OPERATORS_NOT_FOUND in (data.get("message"), data.get("error")):
                return []
            _raise_if_json_error(data, body)
        success = isinstance(data, dict) and data.get("status") == "success"
        by_country = data.get("countryOperators") if success else None
        if isinstance(by_country, list):  # PHP writes keys 0..n-1 in order as a list
            by_country = {str(index): item for index, item in enumerate(by_country)}
        if not isinstance(by_country, dict):
            raise _bad(body, "unexpected reply to getOperators")
        entries = []
        for country_key, names in by_country.items():
            country_id = _int(country_key, body, "country")
            if isinstance(names, dict):
                names = list(names.values())
            if not isinstance(names, list):
                raise _bad(body, f"operators of country {country_key} are not a list")
            for name in names:
                if not isinstance(name, str) or not name.strip():
                    raise _bad(body, f"operator of country {country_key} is not a name")
                entries.append(OperatorEntry(country=country_id, code=name.strip().lower()))
        return entries

    def balance(self) -> Decimal:
        body = self.api.reply("getBalance")
        return _decimal(self.dialect.argument(body, "ACCESS_BALANCE", "getBalance"), body, "balance")
