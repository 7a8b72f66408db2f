"""A fake OTPBuddy server (OTPBuddy's API document `stubs/handler_api.php`) over real HTTP, for tests.

    with FakeOtpBuddy(api_key="k") as fake:
        fake.set_offer(22, "bne", "13.00", 10, server=2)
        provider = Provider.objects.create(slot=1, protocol="otpbuddy", base_url=fake.url, api_key="k",
                                           config={"server_id": 2})
        purchase = OtpBuddyClient(provider).buy(BuyRequest(service="bne", country=22))
        fake.deliver_sms(purchase.upstream_id, "123456")

A standard-library WSGI app (`wsgiref` + a threading mixin: every request has
its own thread) on 127.0.0.1 and a free port, in a daemon thread, built like
`tests.fakes.sms_activate`. The protocol and its state live in
`tests.fakes.otpbuddy_state`; this module adds the server and the controls
that make an upstream misbehave: one-shot canned responses (HTML, 502, a
redirect), dropped connections and delays.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.otpbuddy_state import FakeActivation, FakeOtpBuddyState
from tests.fakes.server import FakeUpstream


class FakeOtpBuddy(FakeUpstream):
    """The fake server. State controls (`set_offer`, `deliver_sms`, `balance`, `activations`) act on `self.state`."""

    thread_name = "fake-otpbuddy"

    def __init__(self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("1000")):
        super().__init__(FakeOtpBuddyState(api_key=api_key, balance=balance))

    # --- state controls ----------------------------------------------------------------

    def set_offer(
        self, country: int, service: str, price: Decimal | str | int, count: int, *, server: int | str = 1
    ) -> None:
        """Stock of one price tier of (server, country, service); adds the server and service if new."""
        self.state.set_offer(country, service, price, count, server=server)

    def deliver_sms(self, activation_id: str, code: str) -> None:
        self.state.deliver_sms(activation_id, code)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def activations(self) -> dict[str, FakeActivation]:
        return self.state.activations
