"""The in-memory Kopeechka behind the fake e-mail activation API (`tests.fakes.kopeechka`), written from
the protocol reference's fake-server checklist (section 5). Standard library only; thread-safe (one
lock). Time is `time.time()` plus `advance()`d seconds.

`FakeKopeechkaState.handle(method, params)` answers one request to `/<method>`:
- `token` is checked first on every method (missing or wrong: BAD_TOKEN); `type` JSON (the default)
  or TEXT; unknown parameters (`soft`, `spa`, `clear`, `investor`, `sender`, `api`) are ignored.
- business outcomes are HTTP 200: JSON `{"status":"OK",...}` / `{"status":"ERROR","value":CODE}`,
  TEXT `OK|f1|f2` / `ERROR|CODE`.
- `id` is always emitted as a JSON string, `count` as an integer; `balance` and `cost` as JSON numbers,
  or as six-decimal strings (`"100.000000"`, mailsapi's style) when `strings` is set.
- mailbox-get-email: missing or blocked `site` BAD_SITE; a `mail_type` naming nothing BAD_DOMAIN; no
  stock OUT_OF_STOCK; balance below the price BAD_BALANCE; else debit and `{"status","id","mail"}`
  (`password` added only for `password=1`).
- an order lives 20 minutes (LIFETIME): without a letter by then it is refunded and behaves as
  cancelled (ACTIVATION_CANCELED); a letter keeps it readable.
- mailbox-cancel refunds when no letter came; a second cancel is ACTIVATION_CANCELED.
- mailbox-reorder only after a letter came, else `Activation not found`; a new id on the same mailbox.

Where the reference is silent, this fake decides (and the tests rely on it):
- **fullmessage is always present** in a get-message OK: the whole letter for `full=1`, else "". The
  reference has it "on request"; the PyPI `kopeechka` library builds its GetMessage from the reply's
  keys and requires the field, so a faithful server must always send it.
- TEXT get-message: the letter for `full=1`, else `value` (the letter when `value` is empty). The
  TEXT samples of reorder's `Activation not found` and BAD_EMAIL are JSON objects (the doc's quirk,
  kept). mailbox-zones and mailbox-get-domains answer JSON whatever `type` says.
- `value` is what `deliver_letter` is given, else the order's `regex` match (group 1 when it has
  one; `|,|`-separated per site), else the letter's first link, else "".
- prices are kept in RUB (the default currency); `cost=USD` shows balance and costs divided by
  `usd_rate` (default 100). `zones` are the service's own domains with a price (no stock, always
  available), usable as `mail_type`, as are "" / ALL (the first own domain), REAL (any popular
  domain), the groups of GROUPS, a literal domain and comma lists; `mine` names nothing.
- a cancel after a letter ends the order without a refund; reorder charges the original price
  again; stock is not given back by a cancel or an expiry.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

JSON = "application/json"
TEXT = "text/html; charset=UTF-8"
LIFETIME = 20 * 60
METHODS = (
    "user-balance",
    "mailbox-get-email",
    "mailbox-get-message",
    "mailbox-cancel",
    "mailbox-reorder",
    "mailbox-get-fresh-id",
    "mailbox-zones",
    "mailbox-get-domains",
)
READY, DONE, CANCELED, HISTORY = "READY", "DONE", "CANCELED", "HISTORY"
GROUPS = {
    "OUTLOOK": ("outlook.com", "hotmail.com"),
    "MAILCOM": ("mail.com", "email.com"),
    "MAILRU": ("mail.ru", "inbox.ru", "list.ru", "bk.ru"),
    "YANDEX": ("yandex.ru",),
    "RAMBLER": ("rambler.ru",),
    "GMX": ("gmx.com", "gmx.net"),
}
NOT_FOUND = "Activation not found"
_LINK = re.compile(r"https?://[^\s\"'<>]+")


@dataclass
class FakeEmailOrder:
    id: int
    site: str
    mail: str
    cost: Decimal  # RUB
    created: float
    regex: str = ""
    subject: str = ""
    status: str = READY
    text: str | None = None
    value: str = ""
    refunded: bool = False


class _Error(Exception):
    def __init__(self, code: str, *, json_in_text: bool = False):
        self.code, self.json_in_text = code, json_in_text


class FakeKopeechkaState:
    def __init__(self, *, token: str, balance: Decimal | str | int = Decimal("100")):
        self.token = token
        self.lock = threading.RLock()
        self.offset = 0.0
        self.strings = False  # balance and cost as six-decimal strings
        self.usd_rate = Decimal("100")  # RUB per USD
        self.bad_sites: set[str] = set()
        self.banned: set[str] = set()  # mailboxes reorder refuses (BAD_EMAIL)
        self.popular: dict[str, list] = {}  # domain -> [cost RUB, count]
        self.own: dict[str, Decimal] = {}  # the service's own domains -> cost RUB
        self._balance = Decimal(balance)
        self._orders: list[FakeEmailOrder] = []
        self._ids = itertools.count(1_734_568_101)
        self._boxes = itertools.count(8812)

    # --- test controls -----------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds

    @property
    def balance(self) -> Decimal:
        with self.lock:
            self._expire()
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        with self.lock:
            self._balance = Decimal(value)

    def add_domain(self, name: str, cost: Decimal | str, count: int) -> None:
        with self.lock:
            self.popular[name] = [Decimal(cost), int(count)]

    def add_own_domain(self, name: str, cost: Decimal | str) -> None:
        with self.lock:
            self.own[name] = Decimal(cost)

    def stock(self, name: str) -> int:
        with self.lock:
            return self.popular[name][1]

    def deliver_letter(self, order_id: str, text: str, *, value: str | None = None, subject: str = "") -> bool:
        """A letter for the order; False (dropped) when it is over or its `subject` filter is not met."""
        with self.lock:
            self._expire()
            order = self._order(str(order_id))
            if order is None:
                raise KeyError(order_id)
            if order.status != READY or (order.subject and order.subject.lower() not in subject.lower()):
                return False
            order.status, order.text, order.value = DONE, text, self._value(order, text) if value is None else value
            return True

    @property
    def orders(self) -> list[FakeEmailOrder]:
        with self.lock:
            self._expire()
            return copy.deepcopy(self._orders)

    # --- the protocol --------------------------------------------------------------

    def handle(self, method: str, params: dict[str, str]) -> tuple[str, str]:
        text = params.get("type", "").strip().upper() == "TEXT"
        with self.lock:
            self._expire()
            try:
                if params.get("token", "") != self.token or not self.token:
                    raise _Error("BAD_TOKEN")
                reply, line = getattr(self, "_" + method.replace("-", "_"))(params)
            except _Error as error:
                if text and not error.json_in_text:
                    return TEXT, f"ERROR|{error.code}"
                return JSON, json.dumps({"status": "ERROR", "value": error.code}, separators=(",", ":"))
        if text and line is not None:
            return TEXT, line
        return JSON, json.dumps({"status": "OK", **reply}, separators=(",", ":"))

    def _expire(self) -> None:
        for order in self._orders:
            if order.status == READY and self.now() >= order.created + LIFETIME:
                order.status, order.refunded = CANCELED, True
                self._balance += order.cost

    def _order(self, order_id: str) -> FakeEmailOrder | None:
        return next((o for o in self._orders if str(o.id) == order_id.strip()), None)

    def _known(self, params: dict[str, str]) -> FakeEmailOrder:
        order = self._order(params.get("id", ""))
        if order is None:
            raise _Error("NO_ACTIVATION")
        return order

    @staticmethod
    def _value(order: FakeEmailOrder, text: str) -> str:
        for pattern in filter(None, order.regex.split("|,|")):
            match = re.search(pattern, text)
            if match:
                return match.group(1) if match.groups() else match.group(0)
        link = _LINK.search(text)
        return link.group(0) if link else ""

    def _converted(self, rub: Decimal, params: dict[str, str]) -> Decimal:
        amount = rub / self.usd_rate if params.get("cost", "").strip().upper() == "USD" else rub
        return amount.quantize(Decimal("0.000001"))

    def _amount(self, rub: Decimal, params: dict[str, str]) -> float | str:
        amount = self._converted(rub, params)
        return format(amount, "f") if self.strings else float(amount)

    def _candidates(self, mail_type: str) -> list[tuple[str, Decimal, bool]] | None:
        """(domain, cost, own) for `mail_type`; None when one of its names is no domain of ours."""
        found: list[tuple[str, Decimal, bool]] = []
        for token in (t.strip() for t in mail_type.split(",")):
            if token.upper() in ("", "ALL"):
                names = [(d, c, True) for d, c in self.own.items()]
            elif token.upper() == "REAL":
                names = [(d, p[0], False) for d, p in self.popular.items()]
            elif token.upper() in GROUPS:
                names = [(d, self.popular[d][0], False) for d in GROUPS[token.upper()] if d in self.popular]
            elif token.lower() in self.popular:
                names = [(token.lower(), self.popular[token.lower()][0], False)]
            elif token.lower() in self.own:
                names = [(token.lower(), self.own[token.lower()], True)]
            else:
                names = []
            if not names:
                return None
            found += names
        return found

    def _user_balance(self, params: dict[str, str]) -> tuple[dict, str]:
        return {"balance": self._amount(self._balance, params)}, f"OK|{self._converted(self._balance, params)}"

    def _mailbox_get_email(self, params: dict[str, str]) -> tuple[dict, str]:
        site = params.get("site", "").strip()
        if not site or any(s.strip().lower() in self.bad_sites for s in site.split(",")):
            raise _Error("BAD_SITE")
        candidates = self._candidates(params.get("mail_type", ""))
        if candidates is None:
            raise _Error("BAD_DOMAIN")
        in_stock = [(d, c, own) for d, c, own in candidates if own or self.popular[d][1] > 0]
        if not in_stock:
            raise _Error("OUT_OF_STOCK")
        domain, cost, own = in_stock[0]
        if self._balance < cost:
            raise _Error("BAD_BALANCE")
        self._balance -= cost
        if not own:
            self.popular[domain][1] -= 1
        mail = f"jdoe{next(self._boxes)}@{domain}"
        return self._new_order(params, site, mail, cost)

    def _new_order(self, params: dict[str, str], site: str, mail: str, cost: Decimal) -> tuple[dict, str]:
        order = FakeEmailOrder(
            id=next(self._ids),
            site=site,
            mail=mail,
            cost=cost,
            created=self.now(),
            regex=params.get("regex", ""),
            subject=params.get("subject", "").strip(),
        )
        self._orders.append(order)
        reply = {"id": str(order.id), "mail": mail}
        if params.get("password", "").strip() == "1":
            reply["password"] = f"pw{order.id % 100000}"
        return reply, f"OK|{order.id}|{mail}"

    def _mailbox_get_message(self, params: dict[str, str]) -> tuple[dict, str]:
        order = self._known(params)
        if order.status == CANCELED:
            raise _Error("ACTIVATION_CANCELED")
        if order.text is None:
            raise _Error("WAIT_LINK")
        full = params.get("full", "").strip() == "1"
        line = order.text if full or not order.value else order.value
        return {"value": order.value, "fullmessage": order.text if full else ""}, line

    def _mailbox_cancel(self, params: dict[str, str]) -> tuple[dict, str]:
        order = self._known(params)
        if order.status == CANCELED:
            raise _Error("ACTIVATION_CANCELED")
        if order.text is None:
            order.refunded = True
            self._balance += order.cost
        order.status = CANCELED
        return {}, "OK"

    def _mailbox_reorder(self, params: dict[str, str]) -> tuple[dict, str]:
        site, mail = params.get("site", "").strip(), params.get("email", "").strip().lower()
        if not site:
            raise _Error("BAD_SITE")
        mine = [o for o in self._orders if o.mail == mail]
        if not mine:
            raise _Error("NO_ACTIVATION")
        if mail in self.banned:
            raise _Error("BAD_EMAIL", json_in_text=True)
        if not any(o.text is not None for o in mine):
            raise _Error(NOT_FOUND, json_in_text=True)
        if self._balance < mine[0].cost:
            raise _Error("BAD_BALANCE")
        self._balance -= mine[0].cost
        for order in mine:
            if order.status == DONE:
                order.status = HISTORY
        return self._new_order(params, site, mine[0].mail, mine[0].cost)

    def _mailbox_get_fresh_id(self, params: dict[str, str]) -> tuple[dict, str]:
        site, mail = params.get("site", "").strip(), params.get("email", "").strip().lower()
        mine = [o for o in self._orders if o.mail == mail and o.site == site]
        if not mine:
            raise _Error("NO_ACTIVATION")
        return {"id": str(mine[-1].id)}, f"OK|{mine[-1].id}"

    def _mailbox_zones(self, params: dict[str, str]) -> tuple[dict, None]:
        reply: dict = {}
        if params.get("popular", "").strip() == "1":
            reply["popular"] = [
                {"name": d, "cost": self._amount(p[0], params), "count": p[1]} for d, p in self.popular.items()
            ]
        if params.get("zones", "").strip() == "1":
            reply["zones"] = [{"name": d, "cost": self._amount(c, params)} for d, c in self.own.items()]
        return reply, None

    def _mailbox_get_domains(self, params: dict[str, str]) -> tuple[dict, None]:
        return {"count": len(self.own), "domains": list(self.own)}, None
