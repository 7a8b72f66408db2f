"""The Kopeechka-style fake as the e-mail upstream of the full flows (fake_flows_support.py): prices
in RUB at 3.50 PKR, gmail.com and mail.com in stock."""

from tests.fakes.kopeechka import FakeKopeechka
from tests.reseller.emails.fake_flows_support import CODE, Upstream
from upstream.services import provider_add


class KopeechkaUpstream(Upstream):
    def setup(self) -> None:
        self.fake.add_domain("gmail.com", "4", 300)
        self.fake.add_domain("mail.com", "1", 900)
        self.provider = provider_add(
            slot=1,
            protocol="kopeechka",
            url=self.fake.url,
            api_key="upstream-key",
            currency="RUB",
            rate="3.5",
            name="kopeechka",
            config={"default_site": "example.com"},  # sent when the customer names no site
        )

    def letter(self, upstream_id: str, site: str = "instagram.com") -> None:
        self.fake.deliver_letter(upstream_id, f"<p>Your {site} code is <b>{CODE}</b></p>", value=CODE)

    def refunded(self, upstream_id: str) -> bool:
        order = next(o for o in self.fake.orders if str(o.id) == upstream_id)
        return order.status == "CANCELED"


def kopeechka_upstream():
    fake = FakeKopeechka(token="upstream-key", balance="1000")
    return fake, KopeechkaUpstream("kopeechka", fake)
