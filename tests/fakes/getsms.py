"""A fake Get-SMS API v1 server (Get-SMS's API document `/api/v1/`) over real HTTP, for tests.

    with FakeGetSms(api_key="k") as fake:
        fake.set_offer("indiia", "tg", "12.50", 10)
        provider = Provider.objects.create(slot=1, protocol="getsms", base_url=fake.url, api_key="k", ...)
        purchase = GetSmsClient(provider).buy(BuyRequest(service="tg", country=22))
        fake.deliver_sms(purchase.upstream_id, "123456", "Your code is 123456")

A standard-library WSGI app on 127.0.0.1 and a free port, in a daemon thread,
on the server classes of `tests.fakes.sms_activate` (a thread per request).
It takes GET and POST (form) parameters, the query string winning, as the
document allows both. The protocol and its state live in
`tests.fakes.getsms_state`; this module adds the server and the controls that
make an upstream misbehave: one-shot canned responses (HTML, 502, a redirect,
a slow body), dropped connections and delays, keyed by the `method` parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tests.fakes.getsms_state import ANY, JSON, FakeGetSmsState, FakeOrder
from tests.fakes.server import FakeUpstream

PATH = "/api/v1/"
__all__ = ["ANY", "PATH", "FakeGetSms"]


class FakeGetSms(FakeUpstream):
    """The fake server. State controls (`set_offer`, `deliver_sms`, `expire`, `balance`, `blocked`,
    `maintenance`, `orders`) act on `self.state`. Calls are named by `method`, not `action`."""

    path = PATH
    action_param = "method"
    content_type = JSON
    thread_name = "fake-getsms"

    def __init__(self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("1000")):
        super().__init__(FakeGetSmsState(api_key=api_key, balance=balance))

    # --- state controls ----------------------------------------------------------------

    def set_offer(
        self, country: str, service: str, price: Decimal | str | int, count: int, operator: str = ANY
    ) -> None:
        self.state.set_offer(country, service, price, count, operator)

    def deliver_sms(
        self,
        order_id: int | str,
        code: str | None,
        text: str | None = None,
        *,
        sender: str = "",
        sms_id: int | None = None,
    ) -> int:
        return self.state.deliver_sms(order_id, code, text, sender=sender, sms_id=sms_id)

    def expire(self, order_id: int | str) -> None:
        self.state.expire(order_id)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def orders(self) -> dict[int, FakeOrder]:
        return self.state.orders

    def delay(self, seconds: float, methods: Iterable[str] | str | None = None) -> None:
        super().delay(seconds, methods)

    def methods(self) -> list[str]:
        return self.actions()
