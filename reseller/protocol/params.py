"""Request parameters as a PHP script would see them (product decision P1).

Sources, lowest precedence first: a JSON object body, a form body, the query
string (query wins). Within one source the last repeated value wins, as in
PHP. A parameter sent as a PHP array (`action[]=x`, `action[a]=x`) or as a
JSON array/object is "not a string" and reads as absent; so does a value
holding a NUL byte. An unreadable body
(too large, too many fields, bad multipart) is ignored, never an error page.
"""

import json
import logging

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, UnreadablePostError
from django.http.multipartparser import MultiPartParserError

log = logging.getLogger(__name__)

_NOT_A_STRING = object()
_UNREADABLE = (RequestDataTooBig, SuspiciousOperation, BadRequest, MultiPartParserError, UnreadablePostError)
MAX_JSON_BODY = 64 * 1024


class Params:
    def __init__(self, values: dict[str, object]):
        self._values = values

    def get(self, name: str) -> str | None:
        """The parameter's text, or None when absent or not a string. A value
        holding a NUL byte is never valid input (and PostgreSQL refuses it): absent too."""
        value = self._values.get(name)
        return value if isinstance(value, str) and "\x00" not in value else None

    def is_true(self, name: str) -> bool:
        """Booleans: `1` or `true` (any case) mean true (product decision P1)."""
        value = self.get(name)
        return value is not None and value.strip().lower() in ("1", "true")

    @classmethod
    def from_request(cls, request: HttpRequest) -> "Params":
        values: dict[str, object] = {}
        if request.method == "POST":
            _merge_json(values, request)
            _merge_querydict(values, lambda: request.POST)
        _merge_querydict(values, lambda: request.GET)
        return cls(values)


def _merge_querydict(values: dict[str, object], read) -> None:
    try:
        qd = read()
        items = list(qd.lists())
    except _UNREADABLE as exc:
        log.info("ignoring unreadable request parameters: %s", exc)
        return
    for key, vals in items:
        base, bracket, _ = key.partition("[")
        if bracket:
            values[base] = _NOT_A_STRING
        elif vals:
            values[key] = vals[-1]


def _merge_json(values: dict[str, object], request: HttpRequest) -> None:
    if not (request.content_type or "").endswith("json"):
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if not 0 < length <= MAX_JSON_BODY:
        return
    try:
        data = json.loads(request.body)
    except (ValueError, *_UNREADABLE):
        return
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if isinstance(value, bool):
            values[key] = "1" if value else ""
        elif isinstance(value, str | int | float):
            values[key] = str(value)
        else:
            values[key] = _NOT_A_STRING
