"""Client of an OTPGet-compatible `stubs/email_handler.php` (OTPGet's document, "email_handler.php"),
protocol `otpget-email`: temporary mailboxes bought from another reseller (another instance of this
server included). E-mails only: `supports_email`; buy/status/set_status and balance are
`Unsupported`, the activation catalogue is empty.

GET `action=<name>&server=<1|2>` with our key as `api_key`; every reply is JSON with a *string*
`status`: "200" success, "202" waiting, "300" cancelled, anything else an error with a `message`.
The shapes this client reads, and that our own email_handler.php serves, are the ones written out
in `otpget_email_wire.SHAPES` (docs/upstreams.md, "otpget-email").

Decisions where the document is silent:
- **Which server an order lives on** is part of our upstream id: `"<server>:<email_id>"`. The
  document wants `server` on every request and its action table lists it for getEmailCode and
  cancelEmail; the two servers are separate providers upstream, so an email_id alone may name
  another server's mailbox. A bare `<email_id>` is read as Server 1, the document's default.
- **email_prices**: getEmailServices on Server 2 gives one ANY_SITE price per domain; Server 1 is
  asked for the services of every domain in config `domains`, else of every domain Server 2
  listed, else of gmail.com (the document's default). A server answering 503 (disabled, not
  configured) offers nothing and the others are still read; a Server 1 domain answering 404 has
  no services. Config `servers` (default [1, 2]) names the servers used at all.
- **email_buy**: a request with a `service` goes to Server 1 (`service_id`, `domain` when given),
  one without to Server 2 (`domain`, required, and `site` when given). A server not in `servers`
  is ProviderError("SERVER_NOT_USED:<n>"), nothing sent. The protocol has no price cap nor order
  reference: `max_price` and `order_ref` are not sent (the cost of the reply is what was paid).
- **Errors** are read by the error table's message first, then by the status: 402 ProviderNoBalance
  (`NO_BALANCE`), 401 ProviderBadKey (`BAD_KEY`), 403 ProviderError(`ACCOUNT_BLOCKED`), 404 "No
  stock available" and 500 "No email available" NoNumbers, 404 "Service not available"
  ProviderError(`SERVICE_NOT_AVAILABLE`), 404 on getEmailCode / cancelEmail UnknownActivation,
  500 / 503 ProviderError with a token of the message (`API_CONNECTION_ERROR`, `DATABASE_ERROR`,
  `NOT_CONFIGURED`, `DISABLED`); any other error status `STATUS_<code>`. The body goes to the
  message, never to `raw` (what customers and the admin may see).
- **email_status**: getEmailCode 200 with letters is RECEIVED, 200 without any (the document's own
  client checks `!empty(messages)`) and 202 WAITING, 300 CANCELLED.
- **A letter**: `id` as its id (else a digest of time, sender and text, numbered when repeated);
  a `subject` is the first line of the text; the `code` given, else the code found in the text.
- **email_cancel**: cancelEmail 200 with letters (or a `code`) is EmailCancelled(refunded=False),
  200 with `refunded` (or the cancelled message) EmailCancelled(refunded=True), 300 EmailEnded.

Provider.config: `servers` (list of 1 and/or 2, default both), `domains` (list of mailbox
domains for Server 1's prices), `timeout_seconds` (http.py). `config_check(config)` is what
provider_add should refuse.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, NoReturn

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
    Unsupported,
)
from upstream.providers.handler_api import Dialect, HandlerApi
from upstream.providers.otpget_email_wire import (
    CANCELLED_MESSAGE,
    CANCELLED_STATUS,
    DEFAULT_DOMAIN,
    MESSAGES,
    OK,
    SERVERS,
    WAITING,
)
from upstream.providers.parsing import text_of
from upstream.providers.rent_sms import code_in, sms_digest

log = logging.getLogger(__name__)

EMAIL = Dialect("otpget-email")
_bad, _json = EMAIL.bad, EMAIL.json

_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_UPSTREAM_ID = re.compile(r"(?:([12]):)?([0-9A-Za-z_-]{1,64})")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
_ERROR_STATUS = re.compile(r"[45][0-9]{2}")
_LOOKUPS = ("getEmailCode", "cancelEmail")

# The error table's messages (`MESSAGES`): the exception and the token each stands for.
_BY_MESSAGE: dict[str, tuple[type[ProviderError], str]] = {
    MESSAGES["bad_key"]: (ProviderBadKey, "BAD_KEY"),
    MESSAGES["blocked"]: (ProviderError, "ACCOUNT_BLOCKED"),
    MESSAGES["unknown_action"]: (ProviderError, "BAD_ACTION"),
    MESSAGES["bad_server"]: (ProviderError, "BAD_SERVER"),
    MESSAGES["no_service"]: (ProviderError, "SERVICE_NOT_AVAILABLE"),
    MESSAGES["no_stock"]: (NoNumbers, "NO_STOCK_AVAILABLE"),
    MESSAGES["not_found"]: (UnknownActivation, "EMAIL_NOT_FOUND"),
    MESSAGES["connection"]: (ProviderError, "API_CONNECTION_ERROR"),
    MESSAGES["no_email"]: (NoNumbers, "NO_EMAIL_AVAILABLE"),
    MESSAGES["not_configured"]: (ProviderError, "NOT_CONFIGURED"),
    MESSAGES["disabled"]: (ProviderError, "DISABLED"),
}
# Messages with a variable part, by their fixed start.
_BY_PREFIX: tuple[tuple[str, type[ProviderError], str], ...] = (
    (MESSAGES["no_balance"].partition(".")[0], ProviderNoBalance, "NO_BALANCE"),  # "Insufficient balance"
    (MESSAGES["database"], ProviderError, "DATABASE_ERROR"),
)
_BY_STATUS: dict[str, tuple[type[ProviderError], str]] = {
    "401": (ProviderBadKey, "BAD_KEY"),
    "402": (ProviderNoBalance, "NO_BALANCE"),
    "403": (ProviderError, "ACCOUNT_BLOCKED"),
}


def _check_servers(config: dict) -> tuple[int, ...]:
    value = config.get("servers", list(SERVERS))
    if not isinstance(value, list) or not value or any(text_of(s) not in ("1", "2") for s in value):
        raise ProviderUnavailable(message=f"otpget-email: config servers must be a list of 1 and/or 2, not {value!r}")
    return tuple(sorted({int(s) for s in value}))


def _check_domains(config: dict) -> tuple[str, ...] | None:
    value = config.get("domains")
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(d, str) and _DOMAIN.fullmatch(d) for d in value):
        raise ProviderUnavailable(message=f"otpget-email: config domains must be a list of domains, not {value!r}")
    return tuple(dict.fromkeys(value))


def config_check(config: dict) -> None:
    """ProviderUnavailable when a row with this config could not make its first call."""
    _check_servers(config), _check_domains(config)


def split_id(upstream_id: str) -> tuple[int, str]:
    """(server, email_id) of an upstream id this client gave ("<server>:<email_id>"; bare: Server 1)."""
    match = _UPSTREAM_ID.fullmatch(str(upstream_id).strip())
    if match is None:
        raise UnknownActivation(raw="BAD_EMAIL_ID", message=f"otpget-email: {upstream_id!r} is no e-mail id of ours")
    return int(match.group(1) or 1), match.group(2)


def _raise(action: str, status: str, reply: dict, body: str) -> NoReturn:
    message = text_of(reply.get("message"))
    found = _BY_MESSAGE.get(message) or next(
        ((error, token) for prefix, error, token in _BY_PREFIX if message.startswith(prefix)), None
    )
    if found is None and status == "404":
        found = (ProviderError, "NOT_FOUND")
    error, token = found or _BY_STATUS.get(status, (ProviderError, f"STATUS_{status}"))
    if action in _LOOKUPS and status == "404":  # whatever it says, that mailbox is not known there
        error = UnknownActivation
    elif error is UnknownActivation:  # "not found" where no mailbox was named: no id of ours is unknown
        error = ProviderError
    raise error(raw=token, message=f"otpget-email {action}: status {status}: {message or body[:200]}")


def _time(value: Any, body: str) -> datetime | None:
    stamp = text_of(value)
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(body, f"letter time {stamp!r} is not ISO 8601") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def letters_of(reply: dict, body: str) -> tuple[EmailLetter, ...]:
    """The letters of a getEmailCode / cancelEmail reply (`messages`; a bare `code`: one letter)."""
    items = reply.get("messages", [])
    if items in ({}, None):  # PHP's encoding of an empty array, should it come as an object
        items = []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _bad(body, "messages is not a list of letters")
    letters, seen = [], {}
    for item in items:
        text, subject = item.get("text", ""), text_of(item.get("subject"))
        code, sender = text_of(item.get("code")), text_of(item.get("from"))
        if not isinstance(text, str) or not (text.strip() or code):
            raise _bad(body, "a letter without a text or a code")
        text = "\n".join(part for part in (subject, text.strip() or code) if part)
        received = _time(item.get("received_at"), body)
        letter_id = text_of(item.get("id"))
        if not letter_id:
            key = (text_of(item.get("received_at")), sender, text)
            seen[key] = seen.get(key, -1) + 1
            letter_id = sms_digest(*key) + (f"-{seen[key]}" if seen[key] else "")
        letters.append(
            EmailLetter(letter_id=letter_id, text=text, code=code or code_in(text), sender=sender, received_at=received)
        )
    code = text_of(reply.get("code"))
    if not letters and code:
        letters.append(EmailLetter(letter_id=sms_digest("", "", code), text=code, code=code))
    return tuple(letters)


class OtpGetEmailClient(NoActivations, ProviderClient):
    protocol = "otpget-email"
    sells = "e-mails"
    supports_active_list = False
    supports_email = True
    native_codes = True  # Server 1's service codes are OTPGet's own (EmailService); no SMS catalogue

    @property
    def config(self) -> dict:
        return self.provider.config or {}

    @property
    def servers(self) -> tuple[int, ...]:
        return _check_servers(self.config)

    @cached_property
    def api(self) -> HandlerApi:
        config_check(self.config)  # a misconfigured row sends nothing
        return HandlerApi(self.provider, EMAIL)

    def _reply(self, action: str, server: int, expected: tuple[str, ...] = (OK,), **params: object) -> tuple[dict, str]:
        """The reply object when its status is one of `expected`; the mapped error for an error
        status; BadResponse for anything else."""
        body = self.api.get(action, server=server, **params)
        reply = _json(body, f"{action} reply")
        if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
            raise _bad(body, f"{action} reply has no string status")
        status = reply["status"].strip()
        if status in expected:
            return reply, body
        if _ERROR_STATUS.fullmatch(status):
            _raise(action, status, reply, body)
        raise _bad(body, f"{action} reply has status {status!r}")

    # --- catalogue -----------------------------------------------------------------

    def _listing(self, server: int, **params: object) -> tuple[list[dict], str] | None:
        """getEmailServices' list (`services` on Server 1, `domains` on Server 2) and the body;
        an empty list when nothing is offered there (404), None when the server is off (503)."""
        key = "services" if server == 1 else "domains"
        reply, body = self._reply("getEmailServices", server, (OK, "404", "503"), **params)
        status = reply["status"].strip()
        if status != OK:
            log.info("otpget-email slot %s: server %s %s: status %s", self.provider.slot, server, params, status)
            return None if status == "503" else ([], body)
        items = reply.get(key)
        if items == {}:  # PHP's encoding of an empty array, should it come as an object
            items = []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _bad(body, f"getEmailServices reply has no list of {key}")
        return items, body

    def email_prices(self) -> list[EmailPrice]:
        servers, prices, listed = self.servers, [], []
        found = self._listing(2) if 2 in servers else None
        for item in found[0] if found else []:
            domain = text_of(item.get("domain")).lower()
            if not _DOMAIN.fullmatch(domain):
                raise _bad(found[1], "a domain entry without a domain")
            prices.append(EmailPrice(domain, ANY_SITE, *self._cost_count(item, found[1])))
            listed.append(domain)
        if 1 not in servers:
            return prices
        for domain in _check_domains(self.config) or tuple(dict.fromkeys(listed)) or (DEFAULT_DOMAIN,):
            found = self._listing(1, domain=domain)
            if found is None:
                break  # Server 1 is off: no other domain will answer either
            for item in found[0]:
                code = text_of(item.get("service_code"))
                if not _ID.fullmatch(code):
                    raise _bad(found[1], "a service without a service_code")
                name = text_of(item.get("service_name"))
                prices.append(EmailPrice(domain, code, *self._cost_count(item, found[1]), name=name))
        return prices

    @staticmethod
    def _cost_count(item: dict, body: str) -> tuple[Decimal, int]:
        cost = EMAIL.decimal(item.get("price"), body, "price", signed=False)
        return cost, EMAIL.int(item.get("count"), body, "count", signed=False)

    # --- e-mails -------------------------------------------------------------------

    def email_buy(self, request: EmailRequest) -> EmailBought:
        server = 1 if request.service else 2
        if server not in self.servers:
            raise ProviderError(raw=f"SERVER_NOT_USED:{server}", message=f"otpget-email: server {server} not in config")
        if server == 1:
            params = {"service_id": request.service, "domain": request.domain or None}
        elif not request.domain:
            raise ProviderError(raw="DOMAIN_REQUIRED", message="otpget-email: Server 2 needs a domain")
        else:
            params = {"domain": request.domain, "site": request.site or None}
        reply, body = self._reply("buyEmail", server, **params)
        email_id, email = text_of(reply.get("email_id")), text_of(reply.get("email"))
        if not _ID.fullmatch(email_id) or "@" not in email.strip("@"):
            raise _bad(body, "buyEmail reply without an email_id and an email")
        cost = EMAIL.decimal(reply["price"], body, "price", signed=False) if "price" in reply else None
        return EmailBought(upstream_id=f"{server}:{email_id}", email=email, cost=cost, raw=body)

    def email_status(self, upstream_id: str) -> EmailStatus:
        server, email_id = split_id(upstream_id)
        reply, body = self._reply("getEmailCode", server, (OK, WAITING, CANCELLED_STATUS), email_id=email_id)
        if reply["status"].strip() == CANCELLED_STATUS:
            return EmailStatus(state=EmailState.CANCELLED, raw=body)
        letters = letters_of(reply, body) if reply["status"].strip() == OK else ()
        return EmailStatus(state=EmailState.RECEIVED if letters else EmailState.WAITING, letters=letters, raw=body)

    def email_cancel(self, upstream_id: str) -> EmailCancelled:
        server, email_id = split_id(upstream_id)
        reply, body = self._reply("cancelEmail", server, (OK, CANCELLED_STATUS), email_id=email_id)
        if reply["status"].strip() == CANCELLED_STATUS:
            raise EmailEnded(raw="EMAIL_CANCELLED", message=f"otpget-email cancelEmail: {upstream_id} is over")
        letters = letters_of(reply, body)
        if letters:
            return EmailCancelled(refunded=False, letters=letters, raw=body)
        if "refunded" in reply or text_of(reply.get("message")) == CANCELLED_MESSAGE:
            return EmailCancelled(refunded=True, raw=body)
        raise _bad(body, "cancelEmail reply neither refunded nor with a code")

    # --- no balance call (no activations: NoActivations) ----------------------------

    def balance(self) -> Decimal:
        raise Unsupported(message="otpget-email: email_handler.php has no balance call")
