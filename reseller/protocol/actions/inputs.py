"""Parsing of the activation protocol's parameters into domain values or errors."""

import re
from decimal import Decimal, InvalidOperation

from reseller.orders.errors import OrderNotFound, UnknownCountry, UnknownProviderSlot, UnknownService
from reseller.protocol.context import Call
from reseller.protocol.errors import BadId, BadStatus
from upstream.models import SLOTS, Country, Service
from upstream.selectors import country_get, service_by_code_or_id

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
    """OTPGet's `type`: absent or empty means automatic routing; otherwise 1-6."""
    raw = call.params.get("type")
    if raw is None or raw.strip() == "":
        return None
    slot = _int(raw)
    if slot not in SLOTS:
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


def activation_id(call: Call) -> int:
    raw = call.params.get("id")
    if raw is None or raw.strip() == "":
        raise BadId()
    number = _int(raw)
    if number is None or not 0 < number <= MAX_ID:
        raise OrderNotFound()
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


def operator(call: Call) -> str | None:
    raw = call.params.get("operator")
    return raw.strip()[:50] if raw and raw.strip() else None


def order_id(call: Call) -> str | None:
    raw = call.params.get("orderId")
    return raw.strip()[:100] if raw and raw.strip() else None


def positive_int(raw: str | None) -> int | None:
    """An id-like parameter: a positive integer that fits a bigint, else None."""
    number = _int(raw)
    return number if number is not None and 0 < number <= MAX_ID else None
