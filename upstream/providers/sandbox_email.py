"""E-mails at the sandbox upstream, mixed into SandboxClient: state in `SandboxEmail`.

Catalogue: mailboxes for any site (ANY_SITE) on gmail.com, outlook.com, mail.com and gmx.com, and
on yahoo.com without stock; on gmail.com also per service, as OTPGet's Server 1 sells them (ig
Instagram, tg Telegram, fb Facebook: their letter comes from that site). Costs are a PKR table
converted into the provider's currency with `rate_to_pkr` (rounded to 0.01, at least 0.01), stock
a fixed pseudo-random count, like the rest of the sandbox.

A letter with a 6-digit code arrives `email_letter_delay_seconds` (config, default 8) after the
purchase, lazily: whenever the order is read (`email_status`, `email_cancel`) and its
`letter_due_at` has passed, it moves to RECEIVED. An order without a letter after
`email_lifetime_seconds` (default 1200, OTPGet's 20 minutes) is CANCELLED (refunded upstream); a
delay not shorter than the lifetime means no letter ever comes. Deterministic: the address is a
bijection of the order id (like the sandbox's phones), the code seeded by the id; the letter comes
from `no-reply@<site>` (the request's site, the service's, else one of SITES by the id).

Cancel (OTPGet's cancelEmail): a waiting order is cancelled and refunded; after the letter nothing
is refunded and the letter is returned (EmailCancelled(refunded=False)); an order over already is
EmailEnded (`ALREADY_CANCEL`). `max_price` is respected unless `ignore_max_price`, a cost above
`balance` is ProviderNoBalance, an `order_ref` may be used once. `fail` / `fail_actions` of the
sandbox config apply to email_buy, email_status, email_cancel and email_prices.
"""

from __future__ import annotations

import random
import zlib
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from upstream.models import SandboxEmail
from upstream.providers.base import (
    ANY_SITE,
    EmailBought,
    EmailCancelled,
    EmailEnded,
    EmailLetter,
    EmailPrice,
    EmailRequest,
    EmailState,
    EmailStatus,
    MaxPriceRefused,
    NoNumbers,
    ProviderError,
    ProviderNoBalance,
    UnknownActivation,
)

EMAIL_ACTIONS = ("email_buy", "email_status", "email_cancel", "email_prices")
EMAIL_DOMAINS: dict[str, Decimal] = {  # domain: PKR per mailbox, any site
    "gmail.com": Decimal("15.60"),
    "outlook.com": Decimal("6.50"),
    "mail.com": Decimal("1.20"),
    "gmx.com": Decimal("1.20"),
    "yahoo.com": Decimal("9.00"),
}
EMAIL_SERVICES: dict[str, tuple[str, str, Decimal]] = {  # code: (name, site, PKR), on SERVICE_DOMAIN
    "ig": ("Instagram", "instagram.com", Decimal("120")),
    "tg": ("Telegram", "telegram.org", Decimal("95")),
    "fb": ("Facebook", "facebook.com", Decimal("80")),
}
SERVICE_DOMAIN = "gmail.com"
EMAIL_OUT_OF_STOCK = frozenset({"yahoo.com"})
SITES = ("telegram.org", "instagram.com", "discord.com", "x.com", "tiktok.com")  # who writes when nobody said
_SYLLABLES = [c + v for c in "bcdfghjklmnpqrstvwxz" for v in "aeiou"]  # 100: five make 10**10 addresses
_ADDRESSES = 100**5
_SCRAMBLE = 1_000_003  # prime, coprime with 10**10: a bijection of the id
_CENT = Decimal("0.01")
_STATE = {
    SandboxEmail.Status.WAITING: EmailState.WAITING,
    SandboxEmail.Status.RECEIVED: EmailState.RECEIVED,
    SandboxEmail.Status.CANCELLED: EmailState.CANCELLED,
}


def sandbox_address(order_id: int, domain: str) -> str:
    """The mailbox of an order: five syllables derived from the id (unique below 10**10)."""
    n = (order_id * _SCRAMBLE) % _ADDRESSES
    return "".join(_SYLLABLES[(n // 100**k) % 100] for k in range(5)) + f"@{domain}"


def _site_name(site: str) -> str:
    for name, service_site, _ in EMAIL_SERVICES.values():
        if service_site == site:
            return name
    return site.split(".")[0].capitalize() or "Verification"


class SandboxEmails:
    """The `email_*` methods of SandboxClient (see the module docstring)."""

    supports_email = True

    @property
    def email_lifetime_seconds(self) -> int:
        """The config's `email_lifetime_seconds`: how long a mailbox waits here."""
        return int(self.config.email_lifetime_seconds)

    # --- catalogue --------------------------------------------------------------

    def _email_cost(self, pkr: Decimal) -> Decimal:
        return max((pkr / self.provider.rate_to_pkr).quantize(_CENT, rounding=ROUND_HALF_UP), _CENT)

    @staticmethod
    def _email_stock(domain: str, service: str) -> int:
        if domain in EMAIL_OUT_OF_STOCK:
            return 0
        return 50 + zlib.crc32(f"email:{domain}:{service}".encode()) % 950

    def _email_prices(self) -> list[EmailPrice]:
        prices = [
            EmailPrice(domain=d, service=ANY_SITE, cost=self._email_cost(pkr), count=self._email_stock(d, ANY_SITE))
            for d, pkr in EMAIL_DOMAINS.items()
        ]
        return prices + [
            EmailPrice(
                domain=SERVICE_DOMAIN,
                service=code,
                cost=self._email_cost(pkr),
                count=self._email_stock(SERVICE_DOMAIN, code),
                name=name,
            )
            for code, (name, _, pkr) in EMAIL_SERVICES.items()
        ]

    def email_prices(self) -> list[EmailPrice]:
        self._fail_read("email_prices")
        return self._email_prices()

    # --- buying -----------------------------------------------------------------

    def email_buy(self, request: EmailRequest) -> EmailBought:
        timeout = self._fail_before("email_buy")
        domain = request.domain or (SERVICE_DOMAIN if request.service else "")
        if request.service and request.service not in EMAIL_SERVICES:
            raise ProviderError("BAD_SERVICE")
        offer = next(
            (p for p in self._email_prices() if p.domain == domain and p.service == (request.service or ANY_SITE)),
            None,
        )
        if offer is None:
            raise ProviderError("BAD_DOMAIN")
        if offer.count <= 0:
            raise NoNumbers("NO_NUMBERS")
        config = self.config
        if request.max_price is not None and offer.cost > request.max_price and not config.ignore_max_price:
            raise MaxPriceRefused(f"WRONG_MAX_PRICE:{offer.cost}", min_price=offer.cost)
        if offer.cost > config.balance:
            raise ProviderNoBalance("NO_BALANCE")
        site = request.site or (EMAIL_SERVICES[request.service][1] if request.service else "")
        now = timezone.now()
        with transaction.atomic():
            if request.order_ref and self._emails().filter(order_ref=request.order_ref).exists():
                raise ProviderError("ORDER_ALREADY_EXISTS")
            row = SandboxEmail.objects.create(
                provider=self.provider,
                domain=domain,
                site=site,
                email="",
                cost=offer.cost,
                letter_due_at=now + timedelta(seconds=float(config.email_letter_delay_seconds)),
                expires_at=now + timedelta(seconds=float(config.email_lifetime_seconds)),
                order_ref=request.order_ref,
            )
            row.email = sandbox_address(row.pk, domain)
            row.save(update_fields=["email"])
        if timeout:
            raise self._timeout()
        return EmailBought(upstream_id=str(row.pk), email=row.email, cost=row.cost, raw=f"EMAIL:{row.pk}:{row.email}")

    def _emails(self):
        return SandboxEmail.objects.filter(provider=self.provider)

    def _email(self, upstream_id: str, *, lock: bool = False) -> SandboxEmail:
        if not str(upstream_id).isdigit() or int(upstream_id) >= 2**63:
            raise UnknownActivation("WRONG_ACTIVATION_ID")
        rows = self._emails().select_for_update() if lock else self._emails()
        row = rows.filter(pk=int(upstream_id)).first()
        if row is None:
            raise UnknownActivation("NO_ACTIVATION")
        return self._email_advance(row)

    @staticmethod
    def _email_advance(row: SandboxEmail) -> SandboxEmail:
        """Deliver a due letter, or end an order past its lifetime without one. A conditional
        update, so concurrent readers agree (the letter is a function of the row)."""
        if row.status != SandboxEmail.Status.WAITING:
            return row
        now = timezone.now()
        new: str | None = None
        if row.letter_due_at <= now and row.letter_due_at < row.expires_at:
            new = SandboxEmail.Status.RECEIVED
        elif row.expires_at <= now:
            new = SandboxEmail.Status.CANCELLED
        if new is not None:
            SandboxEmail.objects.filter(pk=row.pk, status=SandboxEmail.Status.WAITING).update(status=new)
            row.refresh_from_db()
        return row

    # --- letters ----------------------------------------------------------------

    @staticmethod
    def _letter(row: SandboxEmail) -> EmailLetter:
        code = f"{random.Random(f'email:{row.pk}').randrange(10**6):06d}"
        site = row.site or SITES[row.pk % len(SITES)]
        name = _site_name(site)
        text = (
            f"{name} verification code\n"
            f"Your {name} verification code is {code}. Enter it to confirm {row.email}; it expires in 10 minutes.\n"
            "If you did not ask for it, ignore this e-mail."
        )
        return EmailLetter(
            letter_id=f"{row.pk}-1", text=text, code=code, sender=f"no-reply@{site}", received_at=row.letter_due_at
        )

    def _letters(self, row: SandboxEmail) -> tuple[EmailLetter, ...]:
        return (self._letter(row),) if row.status == SandboxEmail.Status.RECEIVED else ()

    def email_status(self, upstream_id: str) -> EmailStatus:
        timeout = self._fail_before("email_status")
        row = self._email(upstream_id)
        letters = self._letters(row)
        raw = {
            SandboxEmail.Status.WAITING: "STATUS_WAIT_CODE",
            SandboxEmail.Status.CANCELLED: "STATUS_CANCEL",
        }.get(row.status) or f"STATUS_OK:{letters[0].code}"
        if timeout:
            raise self._timeout()
        return EmailStatus(state=_STATE[row.status], letters=letters, raw=raw)

    def email_cancel(self, upstream_id: str) -> EmailCancelled:
        timeout = self._fail_before("email_cancel")
        with transaction.atomic():
            row = self._email(upstream_id, lock=True)
            if row.status == SandboxEmail.Status.CANCELLED:
                raise EmailEnded("ALREADY_CANCEL")
            if row.status == SandboxEmail.Status.RECEIVED:
                result = EmailCancelled(refunded=False, letters=self._letters(row), raw="EMAIL_RECEIVED")
            else:
                row.status = SandboxEmail.Status.CANCELLED
                row.save(update_fields=["status"])
                result = EmailCancelled(refunded=True, raw="ACCESS_CANCEL")
        if timeout:
            raise self._timeout()
        return result
