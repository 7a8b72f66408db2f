"""Reading upstream replies, shared by the protocol clients.

Every failure to read is a `BadResponse` whose `raw` is the body (cut to RAW_LIMIT)
and whose message names the protocol. JSON numbers are Decimal, never float; NaN
and infinities are refused.
"""

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from upstream.providers.base import BadResponse, MaxPriceRefused

RAW_LIMIT = 1000  # characters of an unparsable body kept in BadResponse.raw
WRONG_MAX_PRICE_PREFIX = "WRONG_MAX_PRICE:"
# A non-negative amount as PHP prints it: `60`, `60.00`, `1,200.00` (number_format's grouping).
GROUPED_AMOUNT = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


class Replies:
    """The readers of one protocol (its name goes into every error message)."""

    def __init__(self, protocol: str):
        self.protocol = protocol

    def bad(self, body: str, what: str) -> BadResponse:
        raw = body if len(body) <= RAW_LIMIT else body[:RAW_LIMIT] + "..."
        return BadResponse(raw=raw, message=f"{self.protocol}: {what}: {raw[:200]!r}")

    def json(self, body: str, what: str, text: str | None = None) -> Any:
        """`text` (default `body`) parsed; BadResponse with `body` as raw when it is not JSON."""
        try:
            return json.loads(body if text is None else text, parse_float=Decimal, parse_constant=_refuse_constant)
        except ValueError:
            raise self.bad(body, f"{what} is not JSON") from None

    def decimal(self, value: Any, body: str, what: str, *, signed: bool = True, integer: bool = False) -> Decimal:
        """A finite Decimal from a JSON number or a string; negative only when `signed`."""
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise self.bad(body, f"{what} is not a number")
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise self.bad(body, f"{what} is not a number") from None
        if not amount.is_finite() or (amount < 0 and not signed):
            raise self.bad(body, f"{what} is not a finite {'' if signed else 'non-negative '}number")
        if integer and amount != amount.to_integral_value():
            raise self.bad(body, f"{what} is not a finite integer")
        return amount

    def int(self, value: Any, body: str, what: str, *, signed: bool = True) -> int:
        number = self.decimal(value, body, what, signed=signed)
        if number != number.to_integral_value():
            raise self.bad(body, f"{what} is not an integer")
        return int(number)


def grouped_decimal(text: str) -> Decimal:
    """A matched `GROUPED_AMOUNT` (or its negative): grouping commas dropped."""
    return Decimal(text.replace(",", ""))


def text_of(value: Any) -> str:
    """A JSON string or integer as stripped text; anything else (bool, null, objects) as ''."""
    return str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def max_price_refused(body: str) -> MaxPriceRefused | None:
    """`WRONG_MAX_PRICE:<min>` -> MaxPriceRefused (min None when unreadable); else None."""
    if not body.startswith(WRONG_MAX_PRICE_PREFIX):
        return None
    try:
        minimum: Decimal | None = Decimal(body[len(WRONG_MAX_PRICE_PREFIX) :].strip())
    except InvalidOperation:
        minimum = None
    if minimum is not None and not minimum.is_finite():
        minimum = None
    return MaxPriceRefused(raw=body, min_price=minimum)
