"""A fake OTPGet `stubs/rental-handler.php` over real HTTP, for tests.

    with FakeOtpGetRental(api_key="k") as fake:
        fake.add_country(2, "ca", "Canada", {720: "840.00", 4320: "5040.00"})
        provider = Provider.objects.create(protocol="otpget-rental", base_url=fake.url, config={"provider": 2}, ...)
        rented = OtpGetRentalClient(provider).rent(RentRequest(country=36, service=FULL_RENT, hours=720))
        fake.deliver_sms(rented.upstream_id, "Your WhatsApp code 740-279")

The protocol and its state live in `tests.fakes.otpget_rental_state`; the server and the misbehaviour
controls (canned bodies, delays, dropped connections, keyed by `action`) are `tests.fakes.server`'s.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.otpget_rental_state import JSON, FakeOtpGetRentalState, FakeRental
from tests.fakes.server import FakeUpstream

PATH = "/stubs/rental-handler.php"
__all__ = ["PATH", "FakeOtpGetRental"]


class FakeOtpGetRental(FakeUpstream):
    path = PATH
    content_type = JSON
    thread_name = "fake-otpget-rental"

    def __init__(self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("5060")):
        super().__init__(FakeOtpGetRentalState(api_key=api_key, balance=balance))

    def add_country(self, provider, code, name, pricing, areas=None) -> None:
        self.state.add_country(provider, code, name, pricing, areas)

    def deliver_sms(self, order_id: str, text: str, *, code: str = "") -> None:
        self.state.deliver_sms(order_id, text, code=code)

    def cancel(self, order_id: str) -> None:
        self.state.cancel(order_id)

    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def rentals(self) -> list[FakeRental]:
        return self.state.rentals
