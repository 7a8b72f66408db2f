"""A fake OTPGet `stubs/email_handler.php` over real HTTP, for tests.

    with FakeOtpGetEmail(api_key="k") as fake:
        fake.add_service("gmail.com", "ig", "Instagram", "120.00", 48)   # Server 1
        fake.add_domain("gmx.com", "1.17", 1615245)                       # Server 2
        provider = Provider.objects.create(protocol="otpget-email", base_url=fake.url, ...)
        bought = OtpGetEmailClient(provider).email_buy(EmailRequest(domain="gmx.com"))
        fake.deliver_letter("48291034", "123456 is your Telegram code", "123456", server=2)

The protocol and its state live in `tests.fakes.otpget_email_state`; the server and the
misbehaviour controls (canned bodies, delays, dropped connections, keyed by `action`) are
`tests.fakes.server`'s. `disable(server)` makes a server answer 503.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.otpget_email_state import JSON, FakeEmail, FakeOtpGetEmailState
from tests.fakes.server import FakeUpstream

PATH = "/stubs/email_handler.php"
__all__ = ["PATH", "FakeEmail", "FakeOtpGetEmail"]


class FakeOtpGetEmail(FakeUpstream):
    path = PATH
    content_type = JSON
    thread_name = "fake-otpget-email"
    state: FakeOtpGetEmailState

    def __init__(self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("5000")):
        super().__init__(FakeOtpGetEmailState(api_key=api_key, balance=balance))

    def add_service(self, domain: str, code: str, name: str, price: Decimal | str, count: int) -> None:
        self.state.add_service(domain, code, name, price, count)

    def add_domain(self, domain: str, price: Decimal | str, count: int) -> None:
        self.state.add_domain(domain, price, count)

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
        return self.state.deliver_letter(email_id, text, code, sender=sender, subject=subject, server=server)

    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)

    def disable(self, server: int, *, configured: bool = True) -> None:
        """Server `server` answers 503: "disabled", or "not configured" when `configured` is False."""
        with self.state.lock:
            (self.state.disabled if configured else self.state.not_configured).add(server)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def emails(self) -> list[FakeEmail]:
        return self.state.emails
