"""Wire-level errors, and the per-endpoint tables that turn any error into a reply."""

from collections.abc import Callable
from dataclasses import dataclass

from reseller.protocol.render import Json, Reply, Token


class ProtocolError(Exception):
    """Errors that only exist on the wire (no domain meaning)."""


class BadKey(ProtocolError):
    """The API key is missing, malformed or unknown."""


class RateLimited(ProtocolError):
    """Too many requests from this key or IP, or this IP sent too many unknown keys
    (reseller/protocol/throttle.py); answered without running any action."""


class BadId(ProtocolError):
    """The order id parameter is missing."""


class MalformedId(ProtocolError):
    """The order id is present but not a positive integer (SMS-Activate's WRONG_ACTIVATION_ID,
    on the actions whose document lists it)."""


class WrongExceptionPhone(ProtocolError):
    """getNumber's `phoneException` is not a list of number prefixes (WRONG_EXCEPTION_PHONE)."""


class BadStatus(ProtocolError):
    """A setStatus `status` this endpoint does not have."""


class BadDate(ProtocolError):
    """getHistory: a start/end that is not a timestamp, or a range over 30 days."""


class UnknownAction(ProtocolError):
    def __init__(self, action: str | None):
        super().__init__(action)
        self.action = action or ""


ReplyFactory = Callable[[Exception], Reply]


def token(name: str) -> ReplyFactory:
    return lambda exc: Token(name)


def json_status(status: str, message: str | Callable[[Exception], str]) -> ReplyFactory:
    """A JSON error: `{"status":"401","message":"..."}` (status always a string)."""
    if callable(message):
        return lambda exc: Json({"status": status, "message": message(exc)})
    return lambda exc: Json({"status": status, "message": message})


@dataclass(frozen=True)
class ErrorTable:
    """Maps exception classes to replies; the most specific class listed wins.
    Anything not listed is unexpected: it gets `generic` (and is logged)."""

    entries: dict[type[Exception], ReplyFactory]
    generic: ReplyFactory

    def lookup(self, exc: Exception) -> ReplyFactory | None:
        for cls in type(exc).__mro__:
            if cls in self.entries:
                return self.entries[cls]
        return None
