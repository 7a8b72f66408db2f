"""The only module that turns replies into bytes.

Two reply shapes:
- `Token`: a plain-text reply, `NAME` or `NAME:arg1:arg2`, sent bare (no
  newline, no BOM) as `text/html; charset=UTF-8`, what a PHP script sends.
- `Json`: a top-level object or array (the document's own top-level type for
  each action: getHistory and getMultiServiceNumber answer arrays), encoded as
  PHP's `json_encode` does by default
  (compact, non-ASCII as \\uXXXX, `/` as `\\/`), sent as `application/json`.
  A Decimal is written as a bare number with its own places (money is always
  quantized to two: `120.00`); floats are refused, so they never reach the wire.
Every reply is HTTP 200 (product decision P2).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpResponse

TEXT_CONTENT_TYPE = "text/html; charset=UTF-8"
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class Token:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Json:
    data: Mapping | list = field(default_factory=dict)


Reply = Token | Json


def token_text(reply: Token) -> str:
    return ":".join((reply.name, *reply.args))


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=True).replace("/", "\\/")


def php_json(value) -> str:
    """Encode like PHP 7+ `json_encode($value)` with default flags."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("non-finite Decimal on the wire")
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_string(str(k))}:{php_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(php_json(v) for v in value) + "]"
    raise TypeError(f"cannot put {type(value).__name__} on the wire")


def render(reply: Reply) -> HttpResponse:
    if isinstance(reply, Token):
        return HttpResponse(token_text(reply).encode("utf-8"), content_type=TEXT_CONTENT_TYPE)
    if isinstance(reply, Json):
        return HttpResponse(php_json(reply.data).encode("ascii"), content_type=JSON_CONTENT_TYPE)
    raise TypeError(f"not a reply: {reply!r}")
