"""A fake OTPGet `stubs/cheap_handler.php` (OTPGet's API document, cheap 15-minute numbers) over real HTTP, for tests.

    with FakeOtpGetCheap(api_key="k", early_cancel_seconds=0) as fake:
        fake.add_server("1", "Random Facebook - Free")                  # type 1 unless given
        fake.set_service("1", "1", "Facebook", "50.00", count=10)       # server, service, label, PKR, stock
        provider = Provider.objects.create(slot=1, protocol="otpget-cheap", base_url=fake.url, api_key="k")
        purchase = OtpGetCheapClient(provider).buy(BuyRequest(service="1", country=0))
        fake.deliver_sms(purchase.upstream_id, "847293")

The server half (`next_response`, `next_disconnect`, `delay`, `calls`, `requests`) is the shared fake
upstream's (`tests.fakes.server`); the protocol and its state are `tests.fakes.otpget_cheap_state`.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.otpget_cheap_state import CheapOrder, FakeOtpGetCheapState
from tests.fakes.server import FakeUpstream

__all__ = ["CheapOrder", "FakeOtpGetCheap"]


class FakeOtpGetCheap(FakeUpstream):
    path = "/stubs/cheap_handler.php"
    thread_name = "fake-otpget-cheap"
    state: FakeOtpGetCheapState

    def __init__(
        self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("500"), early_cancel_seconds=120.0
    ):
        super().__init__(FakeOtpGetCheapState(api_key=api_key, balance=balance))
        self.state.early_cancel_seconds = float(early_cancel_seconds)

    def add_server(self, server_id: str, name: str, *, type: int = 1, active: bool = True) -> None:
        self.state.add_server(server_id, name, type=type, active=active)

    def set_service(
        self, server_id: str, service_id: str, label: str, price: Decimal | str | int, count: int = 10
    ) -> None:
        self.state.set_service(server_id, service_id, label, price, count)

    def deliver_sms(self, order_id: str, code: str) -> None:
        self.state.deliver_sms(order_id, code)

    def expire(self, order_id: str) -> None:
        self.state.expire(order_id)

    @property
    def orders(self) -> dict[str, CheapOrder]:
        return self.state.orders

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def blocked(self) -> bool:
        return self.state.blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self.state.blocked = bool(value)

    @property
    def early_cancel_seconds(self) -> float:
        return self.state.early_cancel_seconds

    @early_cancel_seconds.setter
    def early_cancel_seconds(self, value: float) -> None:
        self.state.early_cancel_seconds = float(value)
