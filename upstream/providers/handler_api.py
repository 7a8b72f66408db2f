"""The transport every handler_api-style client shares: one request, a clean body, the error tokens.

SMS-Activate, its compatible variant, OTPBuddy, OTPGet and OTPGet's `cheap_handler.php` all send
`action=<name>` and its parameters with our key in the query string, and answer a bare token
(`ACCESS_BALANCE:500.00`, `NO_NUMBERS`) or JSON. Only the vocabulary differs: a `Dialect` is one
protocol's name (in every error message), its documented error tokens and the exception each
raises, and how its JSON and numbers are read (`parsing.Replies`). `HandlerApi` sends one call for
one provider row in a dialect: `get` returns the body stripped of whitespace and BOM (empty or
HTML: `BadResponse`), `reply` also raises the dialect's exception when the body is an error token.
A client that must look at a body before the error table (`NO_ACTIVATIONS`, a `BAD_SERVER` it
skips) calls `get` and then `dialect.raise_if_error` itself.

Get-SMS's v1 API rides on the same transport (`action_param="method"`, key `userkey`, POST): its
errors are JSON envelopes, so its dialect has no tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from upstream.providers import http
from upstream.providers.base import ProviderError
from upstream.providers.parsing import Replies, max_price_refused

if TYPE_CHECKING:
    from upstream.models import Provider


class Dialect(Replies):
    """One protocol's replies: its readers (`Replies`) and its error tokens.

    `errors`: exact tokens and the exception each raises. `patterns`: tokens with an argument
    (`BANNED:<reason>`, `ERROR_PROVIDER_<n>:<raw>`), matched whole, and their exception.
    `max_price`: `WRONG_MAX_PRICE:<min>` is `MaxPriceRefused`. Every exception keeps the body as `raw`.
    """

    def __init__(
        self,
        protocol: str,
        errors: Mapping[str, type[ProviderError]] | None = None,
        *,
        patterns: tuple[tuple[re.Pattern[str], type[ProviderError]], ...] = (),
        max_price: bool = False,
    ):
        super().__init__(protocol)
        self.errors: Mapping[str, type[ProviderError]] = dict(errors or {})
        self.patterns = patterns
        self.max_price = max_price

    def error(self, body: str) -> ProviderError | None:
        """The exception `body` stands for, or None when it is no error token of this dialect."""
        if body in self.errors:
            return self.errors[body](raw=body)
        for pattern, error in self.patterns:
            if pattern.fullmatch(body):
                return error(raw=body)
        return max_price_refused(body) if self.max_price else None

    def raise_if_error(self, body: str) -> None:
        error = self.error(body)
        if error is not None:
            raise error

    def clean(self, text: str, action: str) -> str:
        """The body stripped of whitespace and BOM; `BadResponse` when nothing is left or it is HTML."""
        body = text.strip().lstrip("\ufeff").strip()
        if not body:
            raise self.bad(text, f"empty reply to {action}")
        if body.startswith("<"):
            raise self.bad(body, f"HTML reply to {action}")
        return body

    def argument(self, body: str, token: str, action: str) -> str:
        """`<token>:<argument>` -> the argument (possibly empty); any other body is `BadResponse`."""
        name, sep, argument = body.partition(":")
        if name != token or not sep:
            raise self.bad(body, f"unexpected reply to {action}")
        return argument


class HandlerApi:
    """Calls in one dialect to one provider row (`http.call` underneath: timeouts, body caps,
    destination checks and key hygiene are its).

    `every_call`: parameters sent with every call (OTPGet's `type`), read at each call so a
    misconfigured row raises before anything is sent; they come after the call's own parameters.
    """

    def __init__(
        self,
        provider: Provider,
        dialect: Dialect,
        *,
        every_call: Callable[[], Mapping[str, object]] | None = None,
        action_param: str = "action",
        key_param: str = "api_key",
        method: str = "GET",
    ):
        self.provider = provider
        self.dialect = dialect
        self.every_call = every_call
        self.action_param = action_param
        self.key_param = key_param
        self.method = method

    def get(self, action: str, *, max_bytes: int | None = None, **params: object) -> str:
        """One call; the body stripped of whitespace and BOM, never empty, never an HTML page."""
        fields: dict[str, object] = {self.action_param: action, **params}
        if self.every_call is not None:
            fields.update(self.every_call())
        text = http.call(self.provider, fields, key_param=self.key_param, method=self.method, max_bytes=max_bytes)
        return self.dialect.clean(text, action)

    def reply(self, action: str, *, max_bytes: int | None = None, **params: object) -> str:
        """`get`, raising the dialect's exception when the body is one of its error tokens."""
        body = self.get(action, max_bytes=max_bytes, **params)
        self.dialect.raise_if_error(body)
        return body
