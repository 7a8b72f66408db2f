"""A fake Kopeechka e-mail activation API (api=2.0) over real HTTP, for tests.

    with FakeKopeechka(token="t") as fake:
        fake.add_domain("gmail.com", "5", 10)
        provider = Provider.objects.create(protocol="kopeechka", base_url=fake.url, api_key="t", ...)
        bought = KopeechkaClient(provider).email_buy(EmailRequest(domain="gmail.com", site="instagram.com"))
        fake.deliver_letter(bought.upstream_id, "Your Instagram code is 483920", value="483920")

Every method is a path under the root (`/user-balance`, `/mailbox-get-email`, ...; `METHODS`), so
`url` (the root) is the base_url, and the misbehaviour controls of `tests.fakes.server` are keyed by
the method name (`fake.next_response("mailbox-get-email", ...)`). A request whose target is an
absolute URL (`GET http://api.kopeechka.store/user-balance?...`, what a client sends through an HTTP
proxy) is routed by its path the same way, so `url` also works as `HTTP_PROXY` for a library that
hard-codes the real host (`targets` records the host and path of every request). An unknown path is
a 404 page. The protocol and its state live in `tests.fakes.kopeechka_state`.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from tests.fakes.kopeechka_state import JSON, METHODS, FakeEmailOrder, FakeKopeechkaState
from tests.fakes.server import FakeUpstream

__all__ = ["METHODS", "FakeKopeechka"]


class FakeKopeechka(FakeUpstream):
    path = ""  # the API root: methods are /<method>
    content_type = JSON
    thread_name = "fake-kopeechka"

    def __init__(self, *, token: str = "test-token", balance: Decimal | str | int = Decimal("100")):
        super().__init__(FakeKopeechkaState(token=token, balance=balance))
        self._targets: list[tuple[str, str]] = []

    def route(self, environ: dict, params: dict[str, str]) -> str | None:
        target, host = environ.get("PATH_INFO", ""), environ.get("HTTP_HOST", "")
        if target.startswith(("http://", "https://")):  # absolute-form: sent through a proxy
            parts = urlsplit(target)
            target, host = parts.path, parts.netloc
        with self._lock:
            self._targets.append((host, target))
        prefix = f"{self.path}/"
        method = target[len(prefix) :] if target.startswith(prefix) else None
        return method if method in METHODS else None

    def respond(self, action: str, params: dict[str, str]) -> tuple[str, str]:
        return self.state.handle(action, params)

    @property
    def targets(self) -> list[tuple[str, str]]:
        """(host, path) of every request received, in order."""
        with self._lock:
            return list(self._targets)

    # --- state controls --------------------------------------------------------------

    def add_domain(self, name: str, cost: Decimal | str, count: int) -> None:
        """A popular (public provider) domain: `cost` RUB, `count` mailboxes in stock."""
        self.state.add_domain(name, cost, count)

    def add_own_domain(self, name: str, cost: Decimal | str) -> None:
        """One of the service's own domains (a `zones` entry, `mail_type` ALL): no stock limit."""
        self.state.add_own_domain(name, cost)

    def deliver_letter(self, order_id: str, text: str, *, value: str | None = None, subject: str = "") -> bool:
        return self.state.deliver_letter(order_id, text, value=value, subject=subject)

    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def orders(self) -> list[FakeEmailOrder]:
        return self.state.orders
