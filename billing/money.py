"""PKR amounts. One set of constants; a float never touches money."""

import re
from decimal import Decimal

PKR_PLACES = 2
PKR_QUANTUM = Decimal("0.01")
MAX_DIGITS = 14  # up to 999,999,999,999.99 PKR
MAX_AMOUNT = Decimal("999999999999.99")
ZERO = Decimal("0.00")

_AMOUNT_RE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


class InvalidAmount(ValueError):
    """An amount that is not a positive PKR value with at most two decimals."""


def parse_amount(value: object, *, allow_negative: bool = False) -> Decimal:
    """Turn a str, int or Decimal into a PKR Decimal with two places.

    Rejects floats, booleans, more than two decimals, zero, negatives (unless
    allow_negative, for signed corrections: then only zero is refused), NaN,
    infinities, exponents and anything that is not a plain number.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidAmount(f"amount must be a decimal string, not {type(value).__name__}")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmount("amount must be finite")
        value = format(value, "f")
    if not isinstance(value, str):
        raise InvalidAmount(f"amount must be a decimal string, not {type(value).__name__}")
    text = value.strip()
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    if not _AMOUNT_RE.fullmatch(text):
        raise InvalidAmount(f"invalid amount {value!r}: use digits with at most two decimals, e.g. 12.50")
    amount = Decimal(text).quantize(PKR_QUANTUM)
    if negative:
        amount = -amount
    if amount == 0:
        raise InvalidAmount("amount must not be zero")
    if amount < 0 and not allow_negative:
        raise InvalidAmount("amount must be positive")
    if abs(amount) > MAX_AMOUNT:
        raise InvalidAmount("amount too large")
    return amount


def format_pkr(amount: Decimal) -> str:
    """`500` -> `500.00`, `0.5` -> `0.50`: two decimals, a leading digit, no grouping."""
    return format(Decimal(amount).quantize(PKR_QUANTUM), "f")
