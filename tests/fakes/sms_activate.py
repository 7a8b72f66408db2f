"""A fake SMS-Activate server (SMS-Activate's `stubs/handler_api.php`) over real HTTP, for tests and benchmarks.

    with FakeSmsActivate(api_key="k") as fake:
        fake.set_offer(22, "tg", "12.50", 10)
        provider = Provider.objects.create(slot=1, protocol="smsactivate", base_url=fake.url, api_key="k", ...)
        purchase = client_for(provider).buy(BuyRequest(service="tg", country=22))
        fake.deliver_sms(purchase.upstream_id, "123456", "Your code is 123456")

A standard-library WSGI app (`wsgiref` + a threading mixin: every request has
its own thread, so many delayed requests are answered in parallel) on
127.0.0.1 and a free port, in a daemon thread. The protocol and its state live
in `tests.fakes.sms_activate_state`; this module adds the server and the
controls that make an upstream misbehave: one-shot canned responses (HTML,
502, a redirect, a slow or huge body), dropped connections and delays.
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.server import ANY_ACTION, FakeUpstream, _Canned
from tests.fakes.sms_activate_rent_state import FakeRental
from tests.fakes.sms_activate_state import TEXT, FakeActivation, FakeSmsActivateState

PATH = "/stubs/handler_api.php"
__all__ = ["ANY_ACTION", "PATH", "TEXT", "FakeSmsActivate", "_Canned"]


class FakeSmsActivate(FakeUpstream):
    """The fake server. State controls (`set_offer`, `deliver_sms`, `balance`,
    `early_cancel_seconds`, `activations`) act on `self.state`."""

    thread_name = "fake-sms-activate"

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        balance: Decimal | str | int = Decimal("1000"),
        early_cancel_seconds: float = 0.0,
        currency: int = 643,
    ):
        super().__init__(FakeSmsActivateState(api_key=api_key, balance=balance, currency=currency))
        self.state.early_cancel_seconds = early_cancel_seconds

    # --- state controls ----------------------------------------------------------------

    def set_offer(self, country: int, service: str, cost: Decimal | str | int, count: int) -> None:
        """Price (in the provider's currency) and stock of (country, service); adds the service if new."""
        self.state.set_offer(country, service, cost, count)

    def set_operators(self, country: int, names: list[str]) -> None:
        """The operators getOperators lists for `country` (default: the document's for 1 and 2)."""
        self.state.set_operators(country, names)

    def deliver_sms(self, activation_id: int | str, code: str, text: str | None = None) -> None:
        self.state.deliver_sms(activation_id, code, text)

    def add_live(self, count: int, *, service: str, country: int, cost: Decimal | str | int) -> list[FakeActivation]:
        """`count` waiting activations at once, as if bought (scale tests)."""
        return self.state.add_live(count, service=service, country=country, cost=cost)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def early_cancel_seconds(self) -> float:
        return self.state.early_cancel_seconds

    @early_cancel_seconds.setter
    def early_cancel_seconds(self, seconds: float) -> None:
        self.state.early_cancel_seconds = float(seconds)

    @property
    def activations(self) -> dict[int, FakeActivation]:
        return self.state.activations

    # --- rentals (tests.fakes.sms_activate_rent_state) -----------------------------------

    def set_rent_offer(self, country: int, service: str, hours: int, cost: Decimal | str | int, count: int) -> None:
        """Rent price and stock of (country, service, hours); service "full": the number for every service."""
        self.state.set_rent_offer(country, service, hours, cost, count)

    def deliver_rent_sms(self, rent_id: int | str, text: str, **kwargs: str) -> None:
        self.state.deliver_rent_sms(rent_id, text, **kwargs)

    def age_rental(self, rent_id: int | str, seconds: float) -> None:
        self.state.age_rental(rent_id, seconds)

    def revoke_rental(self, rent_id: int | str) -> None:
        self.state.revoke_rental(rent_id)

    @property
    def rentals(self) -> dict[int, FakeRental]:
        return self.state.rentals

    @property
    def rent_tz(self):
        return self.state.rent_tz

    @rent_tz.setter
    def rent_tz(self, zone) -> None:
        self.state.rent_tz = zone
