"""One e-mail upstream fake behind both email_handler.php servers, for the full flows through HTTP
(tests/reseller/emails/test_flows_fakes.py): each `Upstream` knows how to set its fake up as a
provider and how to make a letter arrive there or the fake's clock move."""

from dataclasses import dataclass
from typing import Any

from reseller.emails.servers import email_server_set
from tests.fakes.otpget_email import FakeOtpGetEmail
from upstream.services import catalogue_sync, provider_add

CODE = "482913"


@dataclass
class Upstream:
    name: str
    fake: Any
    provider: Any = None

    def letter(self, upstream_id: str, site: str = "instagram.com") -> None:
        raise NotImplementedError

    def advance(self, seconds: float) -> None:
        self.fake.advance(seconds)

    def refunded(self, upstream_id: str) -> bool:
        """Whether the fake refunded (cancelled) this mailbox."""
        raise NotImplementedError


class OtpGetEmailUpstream(Upstream):
    def setup(self) -> None:
        self.fake.add_service("gmail.com", "ig", "Instagram", "100.00", 40)
        self.fake.add_domain("gmail.com", "15.00", 500)
        self.fake.add_domain("mail.com", "2.00", 900)
        self.provider = provider_add(
            slot=1, protocol="otpget-email", url=self.fake.url, api_key="upstream-key", name="otpget e-mail"
        )

    def _split(self, upstream_id: str) -> tuple[int, str]:
        server, _, email_id = upstream_id.partition(":")
        return int(server), email_id

    def letter(self, upstream_id: str, site: str = "instagram.com") -> None:
        server, email_id = self._split(upstream_id)
        text = f"{CODE} is your {site} code"
        self.fake.deliver_letter(email_id, text, CODE, sender=f"security@{site}", server=server)

    def refunded(self, upstream_id: str) -> bool:
        server, email_id = self._split(upstream_id)
        email = next(e for e in self.fake.emails if e.server == server and e.email_id == email_id)
        return email.status == "cancelled"


def start(name: str):
    """(fake context manager, Upstream) for `name`."""
    if name == "otpget-email":
        fake = FakeOtpGetEmail(api_key="upstream-key")
        return fake, OtpGetEmailUpstream(name, fake)
    from tests.reseller.emails.fake_flows_kopeechka import kopeechka_upstream

    return kopeechka_upstream()


def wire(upstream: Upstream) -> None:
    upstream.setup()
    catalogue_sync(provider=upstream.provider)
    for server in (1, 2):
        email_server_set(server=server, provider=upstream.provider)
