"""PKR amounts. One set of constants and one grammar for every number an operator types;
a float never touches money."""

import re
from decimal import Decimal

PKR_PLACES = 2
PKR_QUANTUM = Decimal("0.01")
MAX_DIGITS = 14  # up to 999,999,999,999.99 PKR
MAX_AMOUNT = Decimal("999999999999.99")  # the ledger columns' range (MAX_DIGITS, PKR_PLACES), either sign
ZERO = Decimal("0.00")

_NUMBER_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_SHOWN_CHARS = 40  # of a refused value in a message


class InvalidAmount(ValueError):
    """An amount that is not a positive PKR value with at most two decimals."""


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "...")


def parse_decimal(value: object, *, name: str = "amount", maximum: Decimal = MAX_AMOUNT, unit: str = " PKR") -> Decimal:
    """The one grammar of typed numbers (amounts, markups): a str, int or Decimal holding plain
    digits, an optional leading minus and at most two decimals, with an absolute value of at most
    `maximum` (default: what the ledger columns hold). Returns it with two places.

    Rejects floats, booleans, NaN, infinities, exponents (`1e400`), grouping (`1,5`), more than
    two decimals and anything past `maximum`, with an InvalidAmount (a ValueError) naming `name`.
    Zero and the sign are the caller's business.
    """
    if isinstance(value, bool | float):
        raise InvalidAmount(f"{name} must be a decimal string, not {type(value).__name__}")
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmount(f"{name} must be finite")
        value = format(value, "f")
    if not isinstance(value, str):
        raise InvalidAmount(f"{name} must be a decimal string, not {type(value).__name__}")
    text = value.strip()
    match = _NUMBER_RE.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"invalid {name} {_shown(value)}: use digits with at most two decimals, e.g. 12.50")
    sign, whole, fraction = match.groups()
    if fraction is not None and len(fraction) > PKR_PLACES:
        raise InvalidAmount(f"invalid {name} {_shown(value)}: at most two decimals")
    number = Decimal(f"{sign}{whole}.{fraction or '0'}")
    if abs(number) > maximum:  # compared before quantize: a 400-digit number is past its precision
        raise InvalidAmount(f"{name} must be at most {maximum}{unit}, got {_shown(text)}")
    return number.quantize(PKR_QUANTUM)


def parse_amount(value: object, *, allow_negative: bool = False) -> Decimal:
    """Turn a str, int or Decimal into a PKR Decimal with two places (`parse_decimal`'s grammar),
    never zero, never negative unless allow_negative (signed corrections), at most MAX_AMOUNT."""
    amount = parse_decimal(value)
    if amount == 0:
        raise InvalidAmount("amount must not be zero")
    if amount < 0 and not allow_negative:
        raise InvalidAmount("amount must be positive")
    return amount


def format_pkr(amount: Decimal) -> str:
    """`500` -> `500.00`, `0.5` -> `0.50`: two decimals, a leading digit, no grouping."""
    return format(Decimal(amount).quantize(PKR_QUANTUM), "f")
