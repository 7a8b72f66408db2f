"""A fake Get-SMS rent API v2 server (`/api/v2/rent/`) over real HTTP, for tests.

    with FakeGetSmsRent(api_key="k") as fake:
        fake.set_offer("ru", "vk", 233, {"1day": "101.9", "7day": "275.1"})
        provider = Provider.objects.create(protocol="getsms", config={"rent_url": fake.url}, ...)
        rented = GetSmsClient(provider).rent(RentRequest(country=0, service="vk", hours=24))
        fake.deliver_sms(rented.upstream_id, "Your code 435345")
        fake.advance(21 * 60)  # past the refund window

The protocol and its state live in `tests.fakes.getsms_rent_state`; the server and the misbehaviour
controls (canned bodies, delays, dropped connections, keyed by `method`) are `tests.fakes.server`'s.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.getsms_rent_state import JSON, FakeGetSmsRentState, FakeRental
from tests.fakes.server import FakeUpstream

PATH = "/api/v2/rent/"
__all__ = ["PATH", "FakeGetSmsRent"]


class FakeGetSmsRent(FakeUpstream):
    path = PATH
    action_param = "method"
    content_type = JSON
    thread_name = "fake-getsms-rent"

    def __init__(self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("1000")):
        super().__init__(FakeGetSmsRentState(api_key=api_key, balance=balance))

    def set_offer(self, country: str, service: str, count: int, prices: dict[str, Decimal | str | int]) -> None:
        self.state.set_offer(country, service, count, prices)

    def deliver_sms(self, rent_id: int | str, text: str, *, at: float | None = None) -> None:
        self.state.deliver_sms(rent_id, text, at=at)

    def advance(self, seconds: float) -> None:
        self.state.advance(seconds)

    def end_now(self, rent_id: int | str) -> None:
        self.state.end_now(rent_id)

    def complete(self, rent_id: int | str) -> None:
        self.state.complete(rent_id)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def rentals(self) -> dict[int, FakeRental]:
        return self.state.rentals

    def methods(self) -> list[str]:
        return self.actions()
