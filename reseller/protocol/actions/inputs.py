"""Parsing of the activation protocol's parameters into domain values or errors."""

import re
from decimal import Decimal, InvalidOperation

from reseller.orders.errors import OrderNotFound, UnknownCountry, UnknownProviderSlot, UnknownService
from reseller.protocol.context import Call
from reseller.protocol.errors import BadId, BadStatus, MalformedId, WrongExceptionPhone
from upstream.models import SLOTS, Country, Service
from upstream.routing_state import country_get, provider_by_slot, service_by_code_or_id

_INT = re.compile(r"-?[0-9]{1,18}")
MAX_ID = 2**63 - 1


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if _INT.fullmatch(value) else None


def bounded_int(raw: str | None, *, default: int, low: int, high: int) -> int:
    """An optional integer clamped to [low, high]; anything unparsable gives the default."""
    number = _int(raw)
    return default if number is None else min(high, max(low, number))


def provider_slot(call: Call) -> int | None:
    """OTPGet's `type`: absent or empty means automatic routing; otherwise 1-6 naming a configured,
    enabled provider. Anything else (7, `x`, an empty or disabled slot) is BAD_TYPE on every action
    that takes `type`."""
    raw = call.params.get("type")
    if raw is None or raw.strip() == "":
        return None
    slot = _int(raw)
    if slot not in SLOTS or provider_by_slot(slot) is None:
        raise UnknownProviderSlot()
    return slot


def service(call: Call, *, required: bool = True) -> Service | None:
    raw = call.params.get("service")
    if raw is None or raw.strip() == "":
        if required:
            raise UnknownService()
        return None
    found = service_by_code_or_id(raw.strip())
    if found is None:
        raise UnknownService()
    return found


def country(call: Call, *, default: int | None = None, required: bool = False) -> Country | None:
    """SMS-Activate numbering. Absent: `default` (SMS-Activate software relies on
    country 0 being the default), or BAD_COUNTRY when required."""
    raw = call.params.get("country")
    if raw is None or raw.strip() == "":
        if required:
            raise UnknownCountry()
        if default is None:
            return None
        raw = str(default)
    number = _int(raw)
    found = country_get(number) if number is not None and 0 <= number < 2**31 else None
    if found is None:
        raise UnknownCountry()
    return found


def activation_id(call: Call, *, param: str = "id", wrong_id: bool = False) -> int:
    """The activation id: missing or empty is BadId. One that is not a positive integer (`abc`,
    `-5`, `1.5`, 40 digits) is MalformedId (WRONG_ACTIVATION_ID) where the action's document lists
    that token (`wrong_id`), else OrderNotFound, like an unknown id."""
    raw = call.params.get(param)
    if raw is None or raw.strip() == "":
        raise BadId()
    number = _int(raw)
    if number is None or not 0 < number <= MAX_ID:
        raise MalformedId() if wrong_id else OrderNotFound()
    return number


def status(call: Call) -> int:
    number = _int(call.params.get("status"))
    if number not in (1, 3, 6, 8, -1):
        raise BadStatus()
    return number


def max_price(call: Call) -> Decimal | None:
    """`maxPrice` in PKR; an unparsable value is ignored (the regular price applies)."""
    raw = call.params.get("maxPrice")
    if raw is None or raw.strip() == "":
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


_OPERATOR = re.compile(r"[a-z0-9_.-]{1,50}")
_PHONE_MASK = re.compile(r"[0-9]{4,9}")
MAX_PHONE_EXCEPTIONS = 50


def operator(call: Call) -> str | None:
    """SMS-Activate's `operator`: one or several codes, comma-separated (`mts,life`), read lower
    case; None (any operator) when absent, empty or naming `any`. Items that cannot be an operator
    code are dropped (the document: an operator that does not fit gives the first one that does);
    at most 50 characters are kept, as the order's column holds."""
    raw = call.params.get("operator")
    if not raw:
        return None
    codes = [item.strip().lower() for item in raw.split(",")]
    if "any" in codes:
        return None
    kept: list[str] = []
    for code in codes:
        if _OPERATOR.fullmatch(code) and code not in kept and len(",".join([*kept, code])) <= 50:
            kept.append(code)
    return ",".join(kept) or None


def phone_exception(call: Call) -> tuple[str, ...]:
    """`phoneException`: number prefixes to exclude, comma-separated, each a country code and a
    mask of 3 to 6 digits (4 to 9 digits: `7918`, `7900111`), at most 50. Absent or empty: none.
    Anything else is WRONG_EXCEPTION_PHONE."""
    raw = call.params.get("phoneException")
    if raw is None or raw.strip() == "":
        return ()
    masks = tuple(item.strip() for item in raw.split(","))
    if len(masks) > MAX_PHONE_EXCEPTIONS or not all(_PHONE_MASK.fullmatch(m) and m.isascii() for m in masks):
        raise WrongExceptionPhone()
    return tuple(dict.fromkeys(masks))


def order_id(call: Call) -> str | None:
    raw = call.params.get("orderId")
    return raw.strip()[:100] if raw and raw.strip() else None


def positive_int(raw: str | None) -> int | None:
    """An id-like parameter: a positive integer that fits a bigint, else None."""
    number = _int(raw)
    return number if number is not None and 0 < number <= MAX_ID else None
