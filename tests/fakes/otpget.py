"""A fake OTPGet `stubs/handler_api.php` (OTPGet's API document, provider `type` 1-6) over real HTTP, for tests.

    with FakeOtpGet(api_key="k", early_cancel_seconds=0) as fake:
        fake.set_offer(1, 61, "101", "Telegram", "50", 10)    # type, country, service id, name, PKR, stock
        provider = Provider.objects.create(slot=1, protocol="otpget", base_url=fake.url, api_key="k",
                                           currency="PKR", config={"type": 1})
        purchase = OtpGetClient(provider).buy(BuyRequest(service="101", country=61))
        fake.deliver_sms(purchase.upstream_id, "123456")

The server half (a thread-per-request `wsgiref` server on 127.0.0.1, `next_response`,
`next_disconnect`, `delay`, `calls`, `balance`, `early_cancel_seconds`, `deliver_sms`,
`activations`) is the fake SMS-Activate server's, which serves whatever `self.state.handle`
answers; this module puts OTPGet's protocol (`tests.fakes.otpget_state`) behind it.
`extensions=True` makes it answer as another instance of this server would (see the state module).
"""

from __future__ import annotations

from decimal import Decimal

from tests.fakes.otpget_state import FakeOrder, FakeOtpGetState
from tests.fakes.sms_activate import FakeSmsActivate

__all__ = ["FakeOrder", "FakeOtpGet"]


class FakeOtpGet(FakeSmsActivate):
    state: FakeOtpGetState

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        balance: Decimal | str | int = Decimal("500"),
        early_cancel_seconds: float = 120.0,
        extensions: bool = False,
    ):
        super().__init__(api_key=api_key)
        self.state = FakeOtpGetState(api_key=api_key, balance=balance, extensions=extensions)
        self.state.early_cancel_seconds = float(early_cancel_seconds)

    def set_offer(  # type: ignore[override]  # OTPGet's offers are per type and named
        self, type: int, country: int, service_id: str, name: str, price: Decimal | str | int, count: int
    ) -> None:
        """Price (PKR) and stock of a service (numeric id, display name) in a country of provider `type`."""
        self.state.set_offer(type, country, service_id, name, price, count)

    @property
    def blocked(self) -> bool:
        """True: every call with the right key answers ACCOUNT_BLOCKED."""
        return self.state.blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self.state.blocked = bool(value)

    @property
    def extensions(self) -> bool:
        return self.state.extensions

    @extensions.setter
    def extensions(self, value: bool) -> None:
        self.state.extensions = bool(value)
