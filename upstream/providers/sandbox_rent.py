"""Rentals at the sandbox upstream, mixed into SandboxClient: state in `SandboxRental`.

Catalogue: countries 0 Russia, 22 India, 66 Pakistan, 187 USA; the number for every service
(FULL_RENT), tg and wa; periods 12, 24, 168, 720, 4320 and 8640 hours. The cost is a PKR table
(per day by service, times the country's factor, times the period's factor) converted into the
provider's currency with `rate_to_pkr` (0.01 at least); USA has no wa numbers (stock 0).

SMS arrive "now and then": the k-th (k = 1, 2, ...) at `started_at + k * rent_sms_every_seconds`
(config, default 60), until the rental ends. Derived, not stored: any process computes the same
list at the same moment; an SMS's id is "<rental id>-<k>", its code seeded by both. A read shows
at most the latest MAX_SMS of them.

Rules (SMS-Activate's): cancel (refund) only within 20 minutes of the start and before the first
SMS, else RentCannotCancel (`CANT_CANCEL`); finish or cancel an ended rental: RentEnded
(`ALREADY_FINISH` / `ALREADY_CANCEL`); a rental past its end is finished (paid). Prolonging
extends a live rental (same id; any whole number of hours up to 8640, priced per day outside the
table); an ended one cannot be prolonged (RentEnded `RENT_DIE`). `fail` / `fail_actions` of the
sandbox config apply to rent, rent_status, rent_set_status, rent_prolong and rent_prices.
"""

from __future__ import annotations

import random
import zlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from upstream.models import SandboxRental
from upstream.providers.base import (
    FULL_RENT,
    MaxPriceRefused,
    NoNumbers,
    ProviderError,
    ProviderNoBalance,
    RentCannotCancel,
    Rented,
    RentEnded,
    RentPrice,
    RentRequest,
    RentSetStatus,
    RentSms,
    RentState,
    RentStatus,
    UnknownActivation,
)

RENT_ACTIONS = ("rent", "rent_status", "rent_set_status", "rent_prolong", "rent_prices")
RENT_COUNTRIES = (0, 22, 66, 187)
RENT_SERVICES: dict[str, tuple[str, Decimal]] = {  # code: (name, PKR per day)
    FULL_RENT: ("any service", Decimal("500")),
    "tg": ("Telegram", Decimal("150")),
    "wa": ("Whatsapp", Decimal("180")),
}
RENT_HOURS: dict[int, Decimal] = {  # hours: factor of the daily cost
    12: Decimal("0.6"),
    24: Decimal("1"),
    168: Decimal("5"),
    720: Decimal("15"),
    4320: Decimal("70"),
    8640: Decimal("120"),
}
MAX_HOURS = 8640
NO_STOCK = frozenset({(187, "wa")})
CANCEL_WINDOW = timedelta(minutes=20)
MAX_SMS = 100
SENDERS = ("Telegram", "WhatsApp", "Google", "Facebook", "Instagram")
_PHONE_OFFSET = 5_000_000  # rental phones drawn away from the activations' (same derivation)
_CENT = Decimal("0.01")
_STATE = {
    SandboxRental.Status.ACTIVE: RentState.ACTIVE,
    SandboxRental.Status.FINISHED: RentState.FINISHED,
    SandboxRental.Status.CANCELLED: RentState.CANCELLED,
}


class SandboxRent:
    """The `rent_*` methods of SandboxClient (see the module docstring)."""

    supports_rent = True

    # --- catalogue --------------------------------------------------------------

    def _rent_cost(self, country: int, service: str, hours: int) -> Decimal:
        from upstream.providers.sandbox import COUNTRIES

        factor = RENT_HOURS.get(hours, Decimal(hours) / 24)
        pkr = RENT_SERVICES[service][1] * COUNTRIES[country].price_factor * factor
        return max((pkr / self.provider.rate_to_pkr).quantize(_CENT, rounding=ROUND_HALF_UP), _CENT)

    @staticmethod
    def _rent_stock(country: int, service: str, hours: int) -> int:
        if (country, service) in NO_STOCK:
            return 0
        return 10 + zlib.crc32(f"rent:{country}:{service}:{hours}".encode()) % 90

    def rent_prices(self) -> list[RentPrice]:
        self._fail_read("rent_prices")
        return [
            RentPrice(
                country=c,
                service=s,
                hours=h,
                cost=self._rent_cost(c, s, h),
                count=self._rent_stock(c, s, h),
            )
            for c in RENT_COUNTRIES
            for s in RENT_SERVICES
            for h in RENT_HOURS
        ]

    # --- renting ----------------------------------------------------------------

    def rent(self, request: RentRequest) -> Rented:
        from upstream.providers.sandbox import sandbox_phone

        timeout = self._fail_before("rent")
        if request.service not in RENT_SERVICES:
            raise ProviderError("BAD_SERVICE")
        if request.country not in RENT_COUNTRIES:
            raise ProviderError("BAD_COUNTRY")
        if request.hours not in RENT_HOURS:
            raise ProviderError("INVALID_TIME")
        if self._rent_stock(request.country, request.service, request.hours) <= 0:
            raise NoNumbers("NO_NUMBERS")
        cost = self._rent_cost(request.country, request.service, request.hours)
        if request.max_price is not None and cost > request.max_price and not self.config.ignore_max_price:
            raise MaxPriceRefused(f"WRONG_MAX_PRICE:{cost}", min_price=cost)
        if cost > self.config.balance:
            raise ProviderNoBalance("NO_BALANCE")
        now = timezone.now()
        with transaction.atomic():
            if request.order_ref and self._rentals().filter(order_ref=request.order_ref).exists():
                raise ProviderError("ORDER_ALREADY_EXISTS")
            row = SandboxRental.objects.create(
                provider=self.provider,
                service=request.service,
                country=request.country,
                phone="",
                hours=request.hours,
                cost=cost,
                started_at=now,
                ends_at=now + timedelta(hours=request.hours),
                order_ref=request.order_ref,
            )
            row.phone = sandbox_phone(row.pk + _PHONE_OFFSET, row.country)
            row.save(update_fields=["phone"])
        if timeout:
            raise self._timeout()
        return Rented(upstream_id=str(row.pk), phone=row.phone, ends_at=row.ends_at, cost=cost, raw=self._raw(row))

    @staticmethod
    def _raw(row: SandboxRental) -> str:
        end = row.ends_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f'{{"status":"success","phone":{{"id":{row.pk},"endDate":"{end}","number":"{row.phone}"}}}}'

    def _rentals(self):
        return SandboxRental.objects.filter(provider=self.provider)

    def _rental(self, upstream_id: str, *, lock: bool = False) -> SandboxRental:
        if not str(upstream_id).isdigit() or int(upstream_id) >= 2**63:
            raise UnknownActivation("NO_ID_RENT")
        rows = self._rentals().select_for_update() if lock else self._rentals()
        row = rows.filter(pk=int(upstream_id)).first()
        if row is None:
            raise UnknownActivation("INVALID_PHONE")
        now = timezone.now()
        if row.status == SandboxRental.Status.ACTIVE and row.ends_at <= now:
            SandboxRental.objects.filter(pk=row.pk, status=row.status).update(status=SandboxRental.Status.FINISHED)
            row.refresh_from_db()
        return row

    # --- SMS --------------------------------------------------------------------

    def _sms_count(self, row: SandboxRental, now: datetime) -> int:
        until = min(now, row.ended_at or row.ends_at, row.ends_at)
        every = float(self.config.rent_sms_every_seconds)
        return max(int((until - row.started_at).total_seconds() // every), 0)

    def _sms(self, row: SandboxRental, k: int) -> RentSms:
        rng = random.Random(f"rent:{row.pk}:{k}")
        code = f"{rng.randrange(10**6):06d}"
        sender = RENT_SERVICES[row.service][0] if row.service else SENDERS[k % len(SENDERS)]
        every = timedelta(seconds=float(self.config.rent_sms_every_seconds))
        return RentSms(
            sms_id=f"{row.pk}-{k}",
            text=f"Your {sender} code is {code}",
            sender=sender,
            received_at=row.started_at + k * every,
            code=code,
        )

    def rent_status(self, upstream_id: str) -> RentStatus:
        timeout = self._fail_before("rent_status")
        row = self._rental(upstream_id)
        count = self._sms_count(row, timezone.now())
        sms = tuple(self._sms(row, k) for k in range(max(count - MAX_SMS, 0) + 1, count + 1))
        if timeout:
            raise self._timeout()
        return RentStatus(state=_STATE[row.status], sms=sms, ends_at=row.ends_at, raw=f"RENT_{row.status.upper()}")

    # --- changes ----------------------------------------------------------------

    def rent_set_status(self, upstream_id: str, status: RentSetStatus) -> str:
        timeout = self._fail_before("rent_set_status")
        status = RentSetStatus(status)
        with transaction.atomic():
            row = self._rental(upstream_id, lock=True)
            if row.status == SandboxRental.Status.FINISHED:
                raise RentEnded("ALREADY_FINISH")
            if row.status == SandboxRental.Status.CANCELLED:
                raise RentEnded("ALREADY_CANCEL")
            now = timezone.now()
            if status == RentSetStatus.CANCEL:
                if now - row.started_at > CANCEL_WINDOW or self._sms_count(row, now) > 0:
                    raise RentCannotCancel("CANT_CANCEL")
                row.status = SandboxRental.Status.CANCELLED
            else:
                row.status = SandboxRental.Status.FINISHED
            row.ended_at = now
            row.save(update_fields=["status", "ended_at"])
        if timeout:
            raise self._timeout()
        return "success"

    def _prolong_check(self, row: SandboxRental, hours: int) -> Decimal:
        if row.status != SandboxRental.Status.ACTIVE:
            raise RentEnded("RENT_DIE")
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
            raise ProviderError("INVALID_TIME")
        return self._rent_cost(row.country, row.service, hours)

    def rent_prolong_price(self, upstream_id: str, hours: int) -> Decimal:
        self._fail_read("rent_prolong")
        return self._prolong_check(self._rental(upstream_id), hours)

    def rent_prolong(self, upstream_id: str, hours: int) -> Rented:
        timeout = self._fail_before("rent_prolong")
        with transaction.atomic():
            row = self._rental(upstream_id, lock=True)
            cost = self._prolong_check(row, hours)
            if cost > self.config.balance:
                raise ProviderNoBalance("NO_BALANCE")
            row.ends_at += timedelta(hours=hours)
            row.hours += hours
            row.cost += cost
            row.save(update_fields=["ends_at", "hours", "cost"])
        if timeout:
            raise self._timeout()
        return Rented(upstream_id=str(row.pk), phone=row.phone, ends_at=row.ends_at, cost=cost, raw=self._raw(row))

    def rent_list(self) -> list[Rented]:
        self._fail_read("rent_status")
        now = timezone.now()
        rows = self._rentals().filter(status=SandboxRental.Status.ACTIVE, ends_at__gt=now).order_by("pk")
        return [Rented(upstream_id=str(r.pk), phone=r.phone, ends_at=r.ends_at, raw=self._raw(r)) for r in rows]
