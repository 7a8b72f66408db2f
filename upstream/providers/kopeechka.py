"""Client of the Kopeechka e-mail activation API (api=2.0), protocol `kopeechka`: a mailbox bought for
a site, the letter the site sends read back (docs/upstreams.md, "kopeechka"; the protocol reference
is the kopeechka knowledge base restated). E-mail only: `supports_email`; buy/status/set_status are
`Unsupported` and the activation catalogue is empty, so the generic catalogue sync writes nothing
for it but the balance.

Wire: GET `<base_url>/<method>` (base_url is the API root, `https://api.kopeechka.store`) with our
key as `token` and `type=JSON&api=2.0` on every call. A reply is `{"status":"OK", ...}` or
`{"status":"ERROR","value":"<CODE>"}`, business errors with HTTP 200; any other HTTP status, HTML,
an empty body or JSON of another shape is `BadResponse` (http.py and `KOPEECHKA`). Methods:
`user-balance` (balance), `mailbox-zones` (email_prices), `mailbox-get-email` (email_buy),
`mailbox-get-message` (email_status), `mailbox-cancel` (email_cancel).

Decisions where the reference is silent:
- **Types**: `id`, `balance`, `cost` and `count` are read from a JSON string or a number (`"1234"`,
  1234, `"100.000000"`, 100.5); an integral float id (`1234.0`) is the integer; anything else
  (bool, null, `"12ab!"`) is BadResponse. The e-mail must contain `@`.
- **Errors** raise with the code itself as `raw` (what a customer may be shown): BAD_TOKEN
  ProviderBadKey, OUT_OF_STOCK NoNumbers, BAD_BALANCE ProviderNoBalance, NO_ACTIVATION
  UnknownActivation, ACTIVATION_CANCELED EmailEnded, any other (BAD_DOMAIN, BAD_SITE,
  TIME_LIMIT_EXCEED, SYSTEM_ERROR, BAD_KARMA, unknown ones) ProviderError. An `ERROR|<CODE>` TEXT
  body (a server ignoring `type=JSON`) is read as the same error; a TEXT success is BadResponse.
- **Currency**: `cost=<Provider.currency>` is sent to user-balance and mailbox-zones when that is USD
  or RUB (the two the API knows), so the balance and prices are in the row's currency; for any other
  currency nothing is sent and the upstream's default currency is assumed to be the row's.
- **email_prices**: `mailbox-zones?popular=1`, one EmailPrice(domain=name, service=ANY_SITE) per
  `popular` entry (a repeated name: the first). Config `zones` true asks `zones=1` too and lists
  each zone not already listed, with count config `zones_count` (default 1, "listed, stock unknown",
  as otpget-cheap does): the API gives zones no stock. Off by default: whether a zone name is a
  `mail_type` the API sells is unconfirmed. An absent list is empty.
- **email_buy** sends `site` = request.site, else config `default_site`; with neither it is
  ProviderError("NO_SITE") and nothing is sent. `mail_type` = request.domain (left out when empty:
  the API's random own domain), config `regex` and `soft` when set. No price cap (the API has
  none: `max_price` is not sent), no order reference. `cost` is None unless the reply has a `cost`.
- **email_status** asks `full=1`: WAIT_LINK is WAITING, ACTIVATION_CANCELED CANCELLED (the reference:
  cancelled or expired after 20 minutes, refunded), OK is RECEIVED with one letter: text =
  `fullmessage`, else `value`; letter_id a digest of the text (the API gives none); no sender, no
  date. The code: `value` itself when it is 4-10 letters and digits with a digit in it, else the
  first 4-8 digit run standing alone in a `value` that is no link, else in the letter's visible
  text (tags, style/script blocks and links dropped, entities decoded), else None.
- **email_cancel** first reads the letter (`mailbox-get-message`): when one came it cancels nothing
  and returns EmailCancelled(refunded=False, letters) (the order is paid: the reference assumes no
  refund after a letter). Else `mailbox-cancel`: OK is refunded=True; ACTIVATION_CANCELED EmailEnded,
  NO_ACTIVATION UnknownActivation (from either call). A letter landing between the two calls is a
  race the API cannot close.

Provider.config: `default_site`, `regex`, `soft`, `zones` (bool), `zones_count` (integer >= 0),
`timeout_seconds` (http.py). `config_check(config)` is what provider_add should refuse.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from upstream.providers import http
from upstream.providers.base import (
    ANY_SITE,
    EmailBought,
    EmailCancelled,
    EmailEnded,
    EmailLetter,
    EmailPrice,
    EmailRequest,
    EmailState,
    EmailStatus,
    NoActivations,
    NoNumbers,
    ProviderBadKey,
    ProviderClient,
    ProviderError,
    ProviderNoBalance,
    ProviderUnavailable,
    UnknownActivation,
)
from upstream.providers.handler_api import Dialect
from upstream.providers.parsing import text_of

OK, ERROR = "OK", "ERROR"
WAIT_LINK, CANCELED, NO_ACTIVATION = "WAIT_LINK", "ACTIVATION_CANCELED", "NO_ACTIVATION"
NO_SITE = "NO_SITE"
EVERY_CALL = {"type": "JSON", "api": "2.0"}
CURRENCIES = ("USD", "RUB")  # what `cost=` accepts
DEFAULT_ZONES_COUNT = 1

ERRORS: dict[str, type[ProviderError]] = {
    "BAD_TOKEN": ProviderBadKey,
    "OUT_OF_STOCK": NoNumbers,
    "BAD_BALANCE": ProviderNoBalance,
    NO_ACTIVATION: UnknownActivation,
    CANCELED: EmailEnded,
}

KOPEECHKA = Dialect("kopeechka")
_bad, _json = KOPEECHKA.bad, KOPEECHKA.json

_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_CODE_TOKEN = re.compile(r"[0-9A-Za-z_]{1,64}")  # an ERROR|<CODE> TEXT body
_SHORT_CODE = re.compile(r"(?=[A-Za-z]*[0-9])[0-9A-Za-z]{4,10}")
_DIGITS = re.compile(r"(?<![0-9A-Za-z#&])[0-9]{4,8}(?![0-9A-Za-z])")
_HIDDEN = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)


# --- config ------------------------------------------------------------------------


def _config_text(config: dict, name: str) -> str | None:
    """config[name] as text (None when absent): `default_site` and `regex` strings, `soft` a string
    or an integer; a site has no whitespace."""
    value = config.get(name)
    if value is None:
        return None
    text = text_of(value) if isinstance(value, str) or name == "soft" else ""
    if not text or (name == "default_site" and re.search(r"\s", text)):
        raise ProviderUnavailable(message=f"kopeechka: config {name} must be a non-empty string, not {value!r}")
    return text


def _zones_count(config: dict) -> int:
    value = config.get("zones_count", DEFAULT_ZONES_COUNT)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProviderUnavailable(message=f"kopeechka: config zones_count must be an integer >= 0, not {value!r}")
    return value


def config_check(config: dict) -> None:
    """ProviderUnavailable when a row with this config could not make its first call."""
    for name in ("default_site", "regex", "soft"):
        _config_text(config, name)
    if not isinstance(config.get("zones", False), bool):
        raise ProviderUnavailable(message=f"kopeechka: config zones must be true or false, not {config['zones']!r}")
    _zones_count(config)


# --- letters -----------------------------------------------------------------------


def letter_digest(text: str) -> str:
    """The id of a letter the API gives none for: stable across reads."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def visible_text(text: str) -> str:
    """A letter as a reader sees it: no style/script/head blocks, tags, links; entities decoded."""
    return _LINK.sub(" ", html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", text))))


def letter_code(value: str, text: str) -> str | None:
    """The code of a letter: `value` when it is one, else a 4-8 digit run in `value` (not a link),
    else in the letter's visible text; None when there is none."""
    value = value.strip()
    if _SHORT_CODE.fullmatch(value):
        return value
    for source in ("" if _LINK.match(value) else value, visible_text(text)):
        match = _DIGITS.search(source)
        if match:
            return match.group(0)
    return None


# --- the client --------------------------------------------------------------------


class _MethodEndpoint:
    """The provider row seen at one method's URL (`http.call` reads `base_url` and the rest from it)."""

    def __init__(self, provider: Any, url: str):
        self._provider = provider
        self.base_url = url

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)


@dataclass(frozen=True)
class _Reply:
    status: str  # OK or ERROR
    code: str  # the ERROR's value ("" for OK)
    data: dict
    body: str


class KopeechkaClient(NoActivations, ProviderClient):
    protocol = "kopeechka"
    sells = "e-mails"
    supports_active_list = False
    supports_email = True
    native_codes = True  # no countries, no services

    @property
    def config(self) -> dict:
        return self.provider.config or {}

    @cached_property
    def root(self) -> str:
        config_check(self.config)  # a misconfigured row sends nothing
        return (self.provider.base_url or "").rstrip("/")

    def _currency(self) -> dict[str, str]:
        currency = (self.provider.currency or "").strip().upper()
        return {"cost": currency} if currency in CURRENCIES else {}

    # --- the wire ------------------------------------------------------------------

    def _ask(self, method: str, **params: object) -> _Reply:
        endpoint = _MethodEndpoint(self.provider, f"{self.root}/{method}")
        text = http.call(endpoint, {**EVERY_CALL, **params}, key_param="token")
        body = KOPEECHKA.clean(text, method)
        head, sep, code = body.partition("|")
        if head == ERROR and sep and _CODE_TOKEN.fullmatch(code.strip()):
            return _Reply(ERROR, code.strip(), {}, body)
        reply = _json(body, f"{method} reply")
        status = reply.get("status") if isinstance(reply, dict) else None
        if status == OK:
            return _Reply(OK, "", reply, body)
        if status == ERROR and text_of(reply.get("value")):
            return _Reply(ERROR, text_of(reply["value"]), reply, body)
        raise _bad(body, f"{method} reply is neither OK nor an ERROR with a value")

    @staticmethod
    def _raise(method: str, reply: _Reply) -> None:
        error = ERRORS.get(reply.code, ProviderError)
        raise error(raw=reply.code, message=f"kopeechka {method}: {reply.code}")

    def _success(self, method: str, **params: object) -> _Reply:
        reply = self._ask(method, **params)
        if reply.status != OK:
            self._raise(method, reply)
        return reply

    @staticmethod
    def _id(value: Any, body: str, what: str) -> str:
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            value = int(value)
        text = text_of(value)
        if not _ID.fullmatch(text):
            raise _bad(body, f"{what} is not an id")
        return text

    # --- e-mails -------------------------------------------------------------------

    def email_prices(self) -> list[EmailPrice]:
        with_zones = bool(self.config.get("zones", False))
        reply = self._success("mailbox-zones", popular=1, zones=1 if with_zones else None, **self._currency())
        prices: dict[str, EmailPrice] = {}
        for entry in self._list(reply, "popular"):
            name = self._name(entry, reply.body)
            cost = KOPEECHKA.decimal(entry.get("cost"), reply.body, "cost", signed=False)
            count = KOPEECHKA.int(entry.get("count"), reply.body, "count", signed=False)
            prices.setdefault(name, EmailPrice(domain=name, service=ANY_SITE, cost=cost, count=count))
        if with_zones:
            count = _zones_count(self.config)
            for entry in self._list(reply, "zones"):
                name = self._name(entry, reply.body)
                cost = KOPEECHKA.decimal(entry.get("cost"), reply.body, "zone cost", signed=False)
                prices.setdefault(name, EmailPrice(domain=name, service=ANY_SITE, cost=cost, count=count))
        return list(prices.values())

    @staticmethod
    def _list(reply: _Reply, key: str) -> list[dict]:
        items = reply.data.get(key)
        if items is None or items == {}:
            return []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _bad(reply.body, f"mailbox-zones {key} is not a list of objects")
        return items

    @staticmethod
    def _name(entry: dict, body: str) -> str:
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or re.search(r"\s", name.strip()):
            raise _bad(body, "a mailbox-zones entry without a name")
        return name.strip().lower()

    def email_buy(self, request: EmailRequest) -> EmailBought:
        site = (request.site or "").strip() or _config_text(self.config, "default_site")
        if not site:
            raise ProviderError(raw=NO_SITE, message="kopeechka: mailbox-get-email needs a site (no default_site)")
        reply = self._success(
            "mailbox-get-email",
            site=site,
            mail_type=(request.domain or "").strip() or None,
            regex=_config_text(self.config, "regex"),
            soft=_config_text(self.config, "soft"),
        )
        upstream_id = self._id(reply.data.get("id"), reply.body, "mailbox-get-email id")
        mail = text_of(reply.data.get("mail"))
        if "@" not in mail or re.search(r"\s", mail):
            raise _bad(reply.body, "mailbox-get-email reply without a mail")
        cost = None
        if reply.data.get("cost") is not None:
            cost = KOPEECHKA.decimal(reply.data["cost"], reply.body, "cost", signed=False)
        return EmailBought(upstream_id=upstream_id, email=mail, cost=cost, raw=reply.body)

    def _letter(self, upstream_id: str) -> tuple[EmailState, EmailLetter | None, str]:
        reply = self._ask("mailbox-get-message", id=upstream_id, full=1)
        if reply.status == ERROR:
            if reply.code == WAIT_LINK:
                return EmailState.WAITING, None, reply.body
            if reply.code == CANCELED:
                return EmailState.CANCELLED, None, reply.body
            self._raise("mailbox-get-message", reply)
        value, full = reply.data.get("value", ""), reply.data.get("fullmessage", "")
        if not isinstance(value, str) or not isinstance(full, str):
            raise _bad(reply.body, "mailbox-get-message value or fullmessage is not a string")
        text = full or value
        if not text.strip():
            raise _bad(reply.body, "mailbox-get-message OK without a letter")
        letter = EmailLetter(letter_id=letter_digest(text), text=text, code=letter_code(value, text))
        return EmailState.RECEIVED, letter, reply.body

    def email_status(self, upstream_id: str) -> EmailStatus:
        state, letter, body = self._letter(upstream_id)
        return EmailStatus(state=state, letters=(letter,) if letter else (), raw=body)

    def email_cancel(self, upstream_id: str) -> EmailCancelled:
        state, letter, body = self._letter(upstream_id)
        if letter is not None:
            return EmailCancelled(refunded=False, letters=(letter,), raw=body)
        if state == EmailState.CANCELLED:
            raise EmailEnded(raw=CANCELED, message="kopeechka mailbox-get-message: already cancelled or expired")
        reply = self._success("mailbox-cancel", id=upstream_id)
        return EmailCancelled(refunded=True, raw=reply.body)

    # --- account -------------------------------------------------------------------

    def balance(self) -> Decimal:
        reply = self._success("user-balance", **self._currency())
        return KOPEECHKA.decimal(reply.data.get("balance"), reply.body, "balance")
