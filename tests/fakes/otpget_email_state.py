"""The in-memory upstream behind the fake OTPGet `stubs/email_handler.php` (`tests.fakes.otpget_email`).

`FakeOtpGetEmailState.handle(params)` answers one request with the reply shapes decided in
`upstream.providers.otpget_email_wire` (same keys, same order, string `status`, PHP's compact
`json_encode`: `/` as `\\/`, non-ASCII as `\\uXXXX`, money as numbers with two decimals) and the
messages of the document's error table (`MESSAGES`). Standard library and that wire module only;
thread-safe (one lock). Time is `time.time()` plus `advance()`d seconds.

Where the document is silent, this fake decides (and the tests rely on it):
- a missing or wrong `api_key` is 401, a blocked account 403, an unknown action 400, on every action.
- `server` is 1 when absent (the document: "server=1 (default)"), anything but 1 or 2 is 400; a
  server in `disabled` answers 503 "Email service disabled", one in `not_configured` 503 "Email
  service not configured", on every action that takes a server (not getEmailHistory).
- the two servers keep separate mailboxes with separate ids (Server 1 from 7291834, Server 2 from
  48291034, the samples): getEmailCode / cancelEmail with the wrong `server` is 404 not found.
- getEmailServices: Server 1 lists the services of `domain` (default gmail.com; none: an empty
  list), Server 2 every domain (`site` is accepted and changes nothing).
- buyEmail: Server 1 needs `service_id`, Server 2 `domain` (400 "<name> is required"); a service or
  domain the server does not sell is 404 "Service not available", one without stock 404 "No stock
  available", too little balance 402 "Insufficient balance. Need: X — Have: Y". The price is taken
  at purchase, the stock goes down by one.
- a mailbox waits 20 minutes (`LIFETIME_SECONDS`) for a letter; then, without one, it is cancelled
  and refunded (getEmailCode 300). `deliver_letter` adds a letter while it waits or after one came.
- getEmailCode: 200 with every letter, 202 while waiting, 300 once cancelled or expired.
- cancelEmail: while waiting, cancels and refunds (200 `refunded`); after a letter, 200 with the
  code and the letters (nothing refunded); once cancelled or expired, 300.
- getEmailHistory lists both servers' mailboxes, newest first, 20 a page.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from upstream.providers.otpget_email_wire import (
    CANCELLED_MESSAGE,
    CODE_MESSAGE,
    DEFAULT_DOMAIN,
    H_CANCELLED,
    H_COMPLETED,
    H_WAITING,
    MESSAGES,
    PER_PAGE,
    SERVER_2_SERVICE,
)

JSON = "application/json"
LIFETIME_SECONDS = 20 * 60
WAITING, RECEIVED, CANCELLED = "waiting", "received", "cancelled"
_SYLLABLES = [c + v for c in "bcdfghjklmnpqrstvwxz" for v in "aeiou"]  # cudaqibeve@gmx.com, as the sample


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def encode(value: object) -> str:
    """PHP's json_encode: compact, `/` escaped, non-ASCII as \\uXXXX, a Decimal as a number with
    two decimals (`120.00`, which Python's json would write `120.0`)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(money(value), "f")
    if isinstance(value, str):
        return json.dumps(value).replace("/", "\\/")
    return json.dumps(value)


def error(status: str, message: str) -> str:
    return encode({"status": status, "message": message})


@dataclass
class FakeService:
    code: str
    name: str
    price: Decimal
    count: int


@dataclass
class FakeLetter:
    id: int
    sender: str
    subject: str
    code: str
    text: str
    received_at: str


@dataclass
class FakeEmail:
    server: int
    email_id: str
    email: str
    service: str  # the reply's `service`: Server 1's service name, Server 2's "Email Activation"
    domain: str
    price: Decimal
    created: float
    status: str = WAITING
    letters: list[FakeLetter] = field(default_factory=list)


def _stamp(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeOtpGetEmailState:
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("5000")):
        self.api_key = api_key
        self.blocked = False
        self.disabled: set[int] = set()  # 503 "Email service disabled"
        self.not_configured: set[int] = set()  # 503 "Email service not configured"
        self.lock = threading.RLock()
        self.offset = 0.0
        self._balance = Decimal(balance)
        self._services: dict[str, list[FakeService]] = {}  # Server 1: domain -> services
        self._domains: list[FakeService] = []  # Server 2: code = the domain
        self._emails: list[FakeEmail] = []
        self._ids = {1: itertools.count(7_291_834), 2: itertools.count(48_291_034)}
        self._letter_ids = itertools.count(1)

    # --- test controls -----------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds

    @property
    def balance(self) -> Decimal:
        with self.lock:
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        with self.lock:
            self._balance = Decimal(value)

    def add_service(self, domain: str, code: str, name: str, price: Decimal | str, count: int) -> None:
        """Server 1 sells `code` on `domain`."""
        with self.lock:
            self._services.setdefault(domain, []).append(FakeService(code, name, Decimal(price), count))

    def add_domain(self, domain: str, price: Decimal | str, count: int) -> None:
        """Server 2 sells mailboxes on `domain`."""
        with self.lock:
            self._domains.append(FakeService(domain, domain, Decimal(price), count))

    def deliver_letter(
        self,
        email_id: str,
        text: str,
        code: str = "",
        *,
        sender: str = "",
        subject: str = "",
        server: int | None = None,
    ) -> bool:
        """A letter for a waiting (or already received) mailbox; False when it is over (cancelled)."""
        with self.lock:
            self._expire()
            email = self._find(str(email_id), server)
            if email is None:
                raise KeyError(email_id)
            if email.status == CANCELLED:
                return False
            sender = sender or f"no-reply@{email.service.lower().replace(' ', '')}.example"
            letter = FakeLetter(next(self._letter_ids), sender, subject, code, text, _stamp(self.now()))
            email.letters.append(letter)
            email.status = RECEIVED
            return True

    @property
    def emails(self) -> list[FakeEmail]:
        with self.lock:
            self._expire()
            return copy.deepcopy(self._emails)

    def stock(self, server: int, code: str, domain: str = DEFAULT_DOMAIN) -> int:
        with self.lock:
            entry = self._service(domain, code) if server == 1 else self._domain(code)
            return entry.count if entry else 0

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        if not params.get("api_key") or params["api_key"] != self.api_key:
            return JSON, error("401", MESSAGES["bad_key"])
        if self.blocked:
            return JSON, error("403", MESSAGES["blocked"])
        action = params.get("action", "")
        handler = getattr(self, f"_action_{action}", None)
        if handler is None:
            return JSON, error("400", MESSAGES["unknown_action"])
        with self.lock:
            self._expire()
            if action == "getEmailHistory":
                return JSON, handler(params)
            server = self._server(params)
            return JSON, server if isinstance(server, str) else handler(params, server)

    def _expire(self) -> None:
        for email in self._emails:
            if email.status == WAITING and self.now() >= email.created + LIFETIME_SECONDS:
                email.status = CANCELLED
                self._balance += email.price

    def _server(self, params: dict[str, str]) -> int | str:
        value = params.get("server", "").strip() or "1"
        if value not in ("1", "2"):
            return error("400", MESSAGES["bad_server"])
        if int(value) in self.disabled:
            return error("503", MESSAGES["disabled"])
        if int(value) in self.not_configured:
            return error("503", MESSAGES["not_configured"])
        return int(value)

    def _service(self, domain: str, code: str) -> FakeService | None:
        return next((s for s in self._services.get(domain, []) if s.code == code), None)

    def _domain(self, domain: str) -> FakeService | None:
        return next((d for d in self._domains if d.code == domain), None)

    def _find(self, email_id: str, server: int | None) -> FakeEmail | None:
        return next(
            (e for e in self._emails if e.email_id == email_id and server in (None, e.server)),
            None,
        )

    @staticmethod
    def _required(params: dict[str, str], name: str) -> str | None:
        if not params.get(name, "").strip():
            return error("400", MESSAGES["required"].format(param=name))
        return None

    def _action_getEmailServices(self, params: dict[str, str], server: int) -> str:
        if server == 1:
            domain = params.get("domain", "").strip() or DEFAULT_DOMAIN
            services = [
                {"service_code": s.code, "service_name": s.name, "price": s.price, "count": s.count}
                for s in self._services.get(domain, [])
            ]
            return encode({"status": "200", "services": services})
        domains = [{"domain": d.code, "price": d.price, "count": d.count} for d in self._domains]
        return encode({"status": "200", "domains": domains})

    def _address(self, server: int, email_id: str, domain: str) -> str:
        n = int(email_id)
        if server == 1:
            digits = "abcdefghijklmnopqrstuvwxyz0123456789"
            tail = "".join(digits[(n * 7919 // 36**k) % 36] for k in range(6))
            return f"temp.{tail}@{domain}"
        local = "".join(_SYLLABLES[(n * 104_729 // 100**k) % 100] for k in range(5))
        return f"{local}@{domain}"

    def _action_buyEmail(self, params: dict[str, str], server: int) -> str:
        if server == 1:
            missing = self._required(params, "service_id")
            if missing:
                return missing
            domain = params.get("domain", "").strip() or DEFAULT_DOMAIN
            entry = self._service(domain, params["service_id"].strip())
        else:
            missing = self._required(params, "domain")
            if missing:
                return missing
            domain = params["domain"].strip()
            entry = self._domain(domain)
        if entry is None:
            return error("404", MESSAGES["no_service"])
        if entry.count <= 0:
            return error("404", MESSAGES["no_stock"])
        if self._balance < entry.price:
            need, have = format(money(entry.price), "f"), format(money(self._balance), "f")
            return error("402", MESSAGES["no_balance"].format(need=need, have=have))
        entry.count -= 1
        self._balance -= entry.price
        email_id = str(next(self._ids[server]))
        email = FakeEmail(
            server=server,
            email_id=email_id,
            email=self._address(server, email_id, domain),
            service=entry.name if server == 1 else SERVER_2_SERVICE,
            domain=domain,
            price=entry.price,
            created=self.now(),
        )
        self._emails.append(email)
        return encode(
            {
                "status": "200",
                "email_id": email.email_id,
                "email": email.email,
                "service": email.service,
                "domain": email.domain,
                "price": email.price,
                "balance": self._balance,
                "server": server,
            }
        )

    def _lookup(self, params: dict[str, str], server: int) -> FakeEmail | str:
        missing = self._required(params, "email_id")
        if missing:
            return missing
        email = self._find(params["email_id"].strip(), server)
        return email if email is not None else error("404", MESSAGES["not_found"])

    @staticmethod
    def _messages(email: FakeEmail) -> list[dict]:
        return [
            {
                "id": str(m.id),
                "from": m.sender,
                "subject": m.subject,
                "code": m.code,
                "text": m.text,
                "received_at": m.received_at,
            }
            for m in email.letters
        ]

    def _action_getEmailCode(self, params: dict[str, str], server: int) -> str:
        email = self._lookup(params, server)
        if isinstance(email, str):
            return email
        if email.status == CANCELLED:
            return error("300", MESSAGES["cancelled"])
        if email.status == WAITING:
            return error("202", MESSAGES["waiting"])
        return encode(
            {"status": "200", "email_id": email.email_id, "email": email.email, "messages": self._messages(email)}
        )

    def _action_cancelEmail(self, params: dict[str, str], server: int) -> str:
        email = self._lookup(params, server)
        if isinstance(email, str):
            return email
        if email.status == CANCELLED:
            return error("300", MESSAGES["cancelled"])
        if email.status == RECEIVED:
            code = next((m.code for m in email.letters if m.code), "")
            return encode({"status": "200", "message": CODE_MESSAGE, "code": code, "messages": self._messages(email)})
        email.status = CANCELLED
        self._balance += email.price
        return encode(
            {"status": "200", "message": CANCELLED_MESSAGE, "refunded": email.price, "balance": self._balance}
        )

    def _action_getEmailHistory(self, params: dict[str, str]) -> str:
        page_text = params.get("page", "").strip() or "1"
        page = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
        newest = sorted(self._emails, key=lambda e: (e.created, e.server, int(e.email_id)), reverse=True)
        statuses = {WAITING: H_WAITING, RECEIVED: H_COMPLETED, CANCELLED: H_CANCELLED}
        history = [
            {
                "email_id": e.email_id,
                "email_address": e.email,
                "service": e.service,
                "domain": e.domain,
                "price": e.price,
                "status": statuses[e.status],
                "code": next((m.code for m in e.letters if m.code), ""),
                "server": e.server,
                "created_at": _stamp(e.created),
            }
            for e in newest[(page - 1) * PER_PAGE : page * PER_PAGE]
        ]
        return encode({"status": "200", "page": page, "per_page": PER_PAGE, "total": len(newest), "history": history})
