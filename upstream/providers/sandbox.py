"""The `sandbox` protocol: an in-process upstream that powers the demo and the tests.

Its state lives in the `SandboxActivation` table, so every process and thread
(web workers, Celery, the test client) sees the same upstream. It behaves like
an SMS-Activate account: a small fixed catalogue, numbers that receive an SMS a
few seconds after purchase, retries, finish and cancel, and it can be told to
fail the way real upstreams fail.

Catalogue: countries 0 Russia, 6 Indonesia, 22 India, 66 Pakistan, 187 USA;
services tg Telegram, wa Whatsapp, ig Instagram, fb Facebook, go Google and
ot "Any other" (stock 0 everywhere). Costs are a fixed PKR table converted
into the provider's currency with its `rate_to_pkr` (rounded to 0.01, at
least 0.01), so a sandbox set up in USD or RUB shows plausible prices. Stock is
a fixed pseudo-random count per (country, service). The SMS is delivered
lazily: whenever an activation is read (`status`, `set_status`,
`active_activations`) and its `sms_due_at` has passed, it moves to CODE.
Rentals: upstream/providers/sandbox_rent.py; e-mails (mailboxes on gmail.com,
outlook.com, mail.com, gmx.com, a letter with a code a few seconds after
purchase): upstream/providers/sandbox_email.py.

Deterministic: a phone number is derived from the activation id (a bijection,
so numbers are unique), and a code from the id and the time the SMS was due.

`provider.config` keys (all optional):

- `sms_delay_seconds` (number, default 10): seconds from purchase, or from a
  retry request (setStatus 3), until the SMS arrives. 0 delivers at the next read.
- `lifetime_seconds` (number, default 1200): an activation older than this
  ends by itself on the next read: FINISHED if an SMS came, else CANCELLED.
- `min_cancel_seconds` (number, default 0): a cancel sooner than this after
  purchase raises CancelTooEarly (EARLY_CANCEL_DENIED).
- `balance` (number, default 100000): what `balance()` reports, in the
  provider's currency; a purchase costing more raises ProviderNoBalance.
- `prices` (object): overrides of the catalogue, shaped like SMS-Activate's
  getPrices: `{"22": {"tg": {"cost": "9.50", "count": 3}}}`; `cost` (in the
  provider's currency) and `count` may each be omitted. Only catalogue
  countries and services may be named.
- `fail` (string, default ""): "" works normally; "error" raises
  ProviderError("ERROR_SQL"); "no_numbers" NoNumbers; "timeout"
  ProviderTimeout, after carrying the action out (a purchase really happens, as
  on a real upstream whose answer was lost); "unavailable" ProviderUnavailable
  (nothing happens); "garbage" BadResponse (nothing happens).
- `ignore_max_price` (boolean, default false): behave like an upstream that
  cannot be capped: sell at its own price whatever `max_price` says (to
  exercise the price-change path).
- `fail_actions` (list, default ["buy"]): the actions `fail` applies to, among
  buy, status, set_status, active_activations, prices, countries, services, balance,
  the rent calls rent, rent_status, rent_set_status, rent_prolong, rent_prices, and
  the e-mail calls email_buy, email_status, email_cancel, email_prices.
- `rent_sms_every_seconds` (number > 0, default 60): a rental receives an SMS this
  often from its start (upstream/providers/sandbox_rent.py).
- `email_letter_delay_seconds` (number, default 8): seconds from an e-mail purchase
  until its letter arrives (upstream/providers/sandbox_email.py).
- `email_lifetime_seconds` (number, default 1200): an e-mail order without a letter
  this long after purchase is cancelled (refunded); no letter comes if the delay is
  not shorter.

A config that does not follow this raises ProviderError("SANDBOX_BAD_CONFIG").
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from upstream.models import SandboxActivation
from upstream.providers.base import (
    ActiveActivation,
    BadResponse,
    BuyRequest,
    CancelTooEarly,
    CountryEntry,
    MaxPriceRefused,
    NoNumbers,
    PriceEntry,
    ProviderClient,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    Purchase,
    ServiceEntry,
    SetStatus,
    StatusResult,
    UnknownActivation,
    UpstreamState,
)
from upstream.providers.sandbox_email import EMAIL_ACTIONS, SandboxEmails
from upstream.providers.sandbox_rent import RENT_ACTIONS, SandboxRent


@dataclass(frozen=True)
class _CountrySpec:
    name: str
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    digits: int  # after the mobile prefix
    first_digits: str = "0123456789"  # allowed first digit of those
    price_factor: Decimal = Decimal("1")


COUNTRIES: dict[int, _CountrySpec] = {
    0: _CountrySpec("Russia", "7", ("900", "915", "926", "977", "999"), 7, price_factor=Decimal("1.5")),
    6: _CountrySpec("Indonesia", "62", ("812", "813", "821", "852", "857"), 8, price_factor=Decimal("0.6")),
    22: _CountrySpec("India", "91", ("98", "97", "91", "70", "88"), 8, price_factor=Decimal("0.8")),
    66: _CountrySpec("Pakistan", "92", ("300", "301", "321", "333", "345"), 7),
    187: _CountrySpec("USA", "1", ("212", "305", "415", "646", "702"), 7, "23456789", Decimal("2")),
}
SERVICES: dict[str, tuple[str, Decimal]] = {  # code: (name, base cost in PKR)
    "tg": ("Telegram", Decimal("120")),
    "wa": ("Whatsapp", Decimal("150")),
    "ig": ("Instagram", Decimal("60")),
    "fb": ("Facebook", Decimal("50")),
    "go": ("Google", Decimal("80")),
    "ot": ("Any other", Decimal("40")),
}
OUT_OF_STOCK = frozenset({"ot"})
FAIL_MODES = ("", "error", "no_numbers", "timeout", "unavailable", "garbage")
ACTIONS = (
    "buy",
    "status",
    "set_status",
    "active_activations",
    "prices",
    "countries",
    "services",
    "balance",
    *RENT_ACTIONS,
    *EMAIL_ACTIONS,
)
LIVE = (SandboxActivation.Status.WAITING, SandboxActivation.Status.CODE, SandboxActivation.Status.WAIT_RETRY)
_SCRAMBLE = 1_000_003  # prime: coprime with every modulus used below, so the mapping is a bijection
_CENT = Decimal("0.01")


def _number(value: Any, key: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ProviderError("SANDBOX_BAD_CONFIG", f"sandbox config {key!r} must be a number") from None
    if not number.is_finite() or number < 0:
        raise ProviderError("SANDBOX_BAD_CONFIG", f"sandbox config {key!r} must be a non-negative number")
    return number


@dataclass(frozen=True)
class SandboxConfig:
    sms_delay_seconds: Decimal = Decimal("10")
    lifetime_seconds: Decimal = Decimal("1200")
    min_cancel_seconds: Decimal = Decimal("0")
    balance: Decimal = Decimal("100000")
    prices: dict = field(default_factory=dict)
    fail: str = ""
    fail_actions: tuple[str, ...] = ("buy",)
    ignore_max_price: bool = False
    rent_sms_every_seconds: Decimal = Decimal("60")
    email_letter_delay_seconds: Decimal = Decimal("8")
    email_lifetime_seconds: Decimal = Decimal("1200")


def parse_config(config: Any) -> SandboxConfig:
    """Validate a provider's sandbox config; ProviderError("SANDBOX_BAD_CONFIG") if it is wrong."""
    config = config or {}
    if not isinstance(config, dict):
        raise ProviderError("SANDBOX_BAD_CONFIG", "sandbox config must be a JSON object")
    numbers = {
        key: _number(config[key], key)
        for key in (
            "sms_delay_seconds",
            "lifetime_seconds",
            "min_cancel_seconds",
            "balance",
            "rent_sms_every_seconds",
            "email_letter_delay_seconds",
            "email_lifetime_seconds",
        )
        if key in config
    }
    if numbers.get("rent_sms_every_seconds", 1) <= 0:
        raise ProviderError("SANDBOX_BAD_CONFIG", "sandbox config 'rent_sms_every_seconds' must be positive")
    fail = config.get("fail") or ""
    if fail not in FAIL_MODES:
        raise ProviderError("SANDBOX_BAD_CONFIG", f"sandbox config 'fail' must be one of {FAIL_MODES}")
    fail_actions = config.get("fail_actions", ["buy"])
    if not isinstance(fail_actions, list) or any(action not in ACTIONS for action in fail_actions):
        raise ProviderError("SANDBOX_BAD_CONFIG", f"sandbox config 'fail_actions' must be a list among {ACTIONS}")
    prices = config.get("prices") or {}
    if not isinstance(prices, dict):
        raise ProviderError("SANDBOX_BAD_CONFIG", "sandbox config 'prices' must be an object")
    for country, by_service in prices.items():
        if not str(country).isdigit() or int(country) not in COUNTRIES or not isinstance(by_service, dict):
            raise ProviderError("SANDBOX_BAD_CONFIG", f"sandbox config 'prices': unknown country {country!r}")
        for service, entry in by_service.items():
            if service not in SERVICES or not isinstance(entry, dict) or not set(entry) <= {"cost", "count"}:
                raise ProviderError("SANDBOX_BAD_CONFIG", f"sandbox config 'prices': bad entry {country}/{service}")
            if "cost" in entry:
                _number(entry["cost"], f"prices.{country}.{service}.cost")
            if "count" in entry and (not isinstance(entry["count"], int) or entry["count"] < 0):
                raise ProviderError("SANDBOX_BAD_CONFIG", f"sandbox config 'prices': bad count {country}/{service}")
    ignore_max_price = config.get("ignore_max_price", False)
    if not isinstance(ignore_max_price, bool):
        raise ProviderError("SANDBOX_BAD_CONFIG", "sandbox config 'ignore_max_price' must be true or false")
    return SandboxConfig(
        **numbers, prices=prices, fail=fail, fail_actions=tuple(fail_actions), ignore_max_price=ignore_max_price
    )


def sandbox_phone(activation_id: int, country: int) -> str:
    """The number of an activation: calling code, a mobile prefix, then digits derived from the id.
    Unique: the digits are a bijection of the id (below len(first_digits) * 10**(digits-1))."""
    spec = COUNTRIES[country]
    tail = 10 ** (spec.digits - 1)
    scrambled = (activation_id * _SCRAMBLE) % (len(spec.first_digits) * tail)
    prefix = spec.mobile_prefixes[activation_id % len(spec.mobile_prefixes)]
    return f"{spec.calling_code}{prefix}{spec.first_digits[scrambled // tail]}{scrambled % tail:0{spec.digits - 1}d}"


def _code_for(row: SandboxActivation) -> str:
    """A 6-digit code seeded by the activation id and when the SMS was due; never the previous one."""
    rng = random.Random(f"{row.pk}:{row.sms_due_at.isoformat()}")
    code = row.code
    while code == row.code:
        code = f"{rng.randrange(10**6):06d}"
    return code


class SandboxClient(SandboxRent, SandboxEmails, ProviderClient):
    """Activations here; rentals in `sandbox_rent.SandboxRent`, e-mails in `sandbox_email.SandboxEmails`."""

    protocol = "sandbox"
    supports_active_list = True
    active_list_codes = True  # serviceCode and countryCode: the codes getNumber was sent
    supports_rent = True
    supports_email = True

    @property
    def config(self) -> SandboxConfig:
        return parse_config(self.provider.config)

    # --- failure injection ------------------------------------------------------

    def _fail_before(self, action: str) -> bool:
        """Raise the configured failure for `action`, or return True if it must raise a timeout afterwards."""
        config = self.config
        if not config.fail or action not in config.fail_actions:
            return False
        if config.fail == "error":
            raise ProviderError("ERROR_SQL")
        if config.fail == "no_numbers":
            raise NoNumbers("NO_NUMBERS")
        if config.fail == "unavailable":
            raise ProviderUnavailable("", "sandbox: connection refused")
        if config.fail == "garbage":
            raise BadResponse("<html><body><h1>502 Bad Gateway</h1></body></html>")
        return True  # timeout

    def _fail_read(self, action: str) -> None:
        """For actions without side effects a timeout may as well come first."""
        if self._fail_before(action):
            raise self._timeout()

    @staticmethod
    def _timeout() -> ProviderTimeout:
        return ProviderTimeout("", "sandbox: read timed out")

    # --- catalogue --------------------------------------------------------------

    def _entry(self, country: int, service: str, config: SandboxConfig) -> PriceEntry:
        rate = self.provider.rate_to_pkr
        pkr = SERVICES[service][1] * COUNTRIES[country].price_factor
        cost = max((pkr / rate).quantize(_CENT, rounding=ROUND_HALF_UP), _CENT)
        count = 0 if service in OUT_OF_STOCK else 100 + zlib.crc32(f"{country}:{service}".encode()) % 4900
        override = config.prices.get(str(country), {}).get(service, {})
        if "cost" in override:
            cost = Decimal(str(override["cost"]))
        return PriceEntry(country=country, service=service, cost=cost, count=override.get("count", count))

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        self._fail_read("prices")
        config = self.config
        return [
            self._entry(c, s, config)
            for c in COUNTRIES
            for s in SERVICES
            if (country is None or c == country) and (service is None or s == service)
        ]

    def countries(self) -> list[CountryEntry]:
        self._fail_read("countries")
        return [CountryEntry(id=c, name=spec.name) for c, spec in COUNTRIES.items()]

    def services(self) -> list[ServiceEntry]:
        self._fail_read("services")
        return [ServiceEntry(code=code, name=name) for code, (name, _) in SERVICES.items()]

    def balance(self) -> Decimal:
        self._fail_read("balance")
        return self.config.balance

    # --- activations ------------------------------------------------------------

    def buy(self, request: BuyRequest) -> Purchase:
        timeout = self._fail_before("buy")
        config = self.config
        if request.service not in SERVICES:
            raise ProviderError("BAD_SERVICE")
        if request.country not in COUNTRIES:
            raise ProviderError("BAD_COUNTRY")
        entry = self._entry(request.country, request.service, config)
        if entry.count <= 0:
            raise NoNumbers("NO_NUMBERS")
        if request.max_price is not None and entry.cost > request.max_price and not config.ignore_max_price:
            raise MaxPriceRefused(f"WRONG_MAX_PRICE:{entry.cost}", min_price=entry.cost)
        if entry.cost > config.balance:
            raise ProviderNoBalance("NO_BALANCE")
        with transaction.atomic():
            if request.order_ref and self._rows().filter(order_ref=request.order_ref).exists():
                raise ProviderError("ORDER_ALREADY_EXISTS")
            row = SandboxActivation.objects.create(
                provider=self.provider,
                service=request.service,
                country=request.country,
                phone="",
                cost=entry.cost,
                sms_due_at=timezone.now() + timedelta(seconds=float(config.sms_delay_seconds)),
                order_ref=request.order_ref,
            )
            row.phone = sandbox_phone(row.pk, row.country)
            row.save(update_fields=["phone"])
        if timeout:
            raise self._timeout()
        return Purchase(
            upstream_id=str(row.pk), phone=row.phone, cost=row.cost, raw=f"ACCESS_NUMBER:{row.pk}:{row.phone}"
        )

    def _rows(self):
        return SandboxActivation.objects.filter(provider=self.provider)

    def _get(self, upstream_id: str) -> SandboxActivation:
        if not str(upstream_id).isdigit() or int(upstream_id) >= 2**63:
            raise UnknownActivation("WRONG_ACTIVATION_ID")
        row = self._rows().filter(pk=int(upstream_id)).first()
        if row is None:
            raise UnknownActivation("NO_ACTIVATION")
        return self._advance(row)

    def _advance(self, row: SandboxActivation) -> SandboxActivation:
        """Deliver a due SMS and end an activation past its lifetime. A conditional update,
        so concurrent readers agree (the code is a function of the row, not of the reader)."""
        now = timezone.now()
        changes: dict[str, Any] = {}
        if row.status in (SandboxActivation.Status.WAITING, SandboxActivation.Status.WAIT_RETRY):
            if row.sms_due_at <= now:
                code = _code_for(row)
                text = f"Your {SERVICES[row.service][0]} code is {code}"
                changes = {"status": SandboxActivation.Status.CODE, "code": code, "text": text}
        if row.status in LIVE and row.created_at + timedelta(seconds=float(self.config.lifetime_seconds)) <= now:
            had_sms = bool(changes) or row.status != SandboxActivation.Status.WAITING
            changes["status"] = SandboxActivation.Status.FINISHED if had_sms else SandboxActivation.Status.CANCELLED
        if changes:
            SandboxActivation.objects.filter(pk=row.pk, status=row.status, sms_due_at=row.sms_due_at).update(**changes)
            row.refresh_from_db()
        return row

    @staticmethod
    def _status_of(row: SandboxActivation) -> StatusResult:
        status = SandboxActivation.Status
        if row.status == status.WAITING:
            return StatusResult(state=UpstreamState.WAITING, raw="STATUS_WAIT_CODE")
        if row.status == status.CODE:
            return StatusResult(state=UpstreamState.CODE, code=row.code, text=row.text, raw=f"STATUS_OK:{row.code}")
        if row.status == status.WAIT_RETRY:
            return StatusResult(state=UpstreamState.WAIT_RETRY, code=row.code, raw=f"STATUS_WAIT_RETRY:{row.code}")
        if row.status == status.FINISHED:
            return StatusResult(state=UpstreamState.FINISHED, code=row.code or None, raw="STATUS_CANCEL")
        return StatusResult(state=UpstreamState.CANCELLED, raw="STATUS_CANCEL")

    def status(self, upstream_id: str) -> StatusResult:
        timeout = self._fail_before("status")
        result = self._status_of(self._get(upstream_id))
        if timeout:
            raise self._timeout()
        return result

    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        timeout = self._fail_before("set_status")
        with transaction.atomic():
            row = self._get(upstream_id)
            row = SandboxActivation.objects.select_for_update().get(pk=row.pk)
            token = self._transition(row, SetStatus(status))
        if timeout:
            raise self._timeout()
        return token

    def _transition(self, row: SandboxActivation, status: SetStatus) -> str:
        s = SandboxActivation.Status
        if status == SetStatus.READY:
            if row.status not in LIVE:
                raise ProviderError("BAD_STATUS")
            return "ACCESS_READY"
        if status == SetStatus.RETRY:
            if row.status == s.WAIT_RETRY:
                return "ACCESS_RETRY_GET"  # already asked: idempotent for a retried request
            if row.status != s.CODE:
                raise ProviderError("BAD_STATUS")
            row.status = s.WAIT_RETRY
            row.sms_due_at = timezone.now() + timedelta(seconds=float(self.config.sms_delay_seconds))
            row.save(update_fields=["status", "sms_due_at"])
            return "ACCESS_RETRY_GET"
        if status == SetStatus.FINISH:
            if row.status == s.FINISHED:
                return "ACCESS_ACTIVATION"
            if row.status not in (s.CODE, s.WAIT_RETRY):
                raise ProviderError("BAD_STATUS")
            row.status = s.FINISHED
            row.save(update_fields=["status"])
            return "ACCESS_ACTIVATION"
        # CANCEL
        if row.status == s.CANCELLED:
            return "ACCESS_CANCEL"
        if row.status == s.FINISHED:
            raise ProviderError("BAD_STATUS")
        if row.created_at + timedelta(seconds=float(self.config.min_cancel_seconds)) > timezone.now():
            raise CancelTooEarly("EARLY_CANCEL_DENIED")
        row.status = s.CANCELLED
        row.save(update_fields=["status"])
        return "ACCESS_CANCEL"

    def active_activations(self, *, expected: int | None = None) -> list[ActiveActivation]:
        timeout = self._fail_before("active_activations")
        result = []
        for row in self._rows().filter(status__in=LIVE).order_by("pk"):
            row = self._advance(row)
            if row.status not in LIVE:
                continue
            status = self._status_of(row)
            result.append(
                ActiveActivation(
                    upstream_id=str(row.pk),
                    phone=row.phone,
                    state=status.state,
                    code=status.code,
                    text=status.text,
                    raw=self._raw_active(row),
                )
            )
        if timeout:
            raise self._timeout()
        return result

    @staticmethod
    def _raw_active(row: SandboxActivation) -> dict:
        """One entry as SMS-Activate's getActiveActivations shows it (plus our orderId)."""
        codes = {SandboxActivation.Status.CODE: "2", SandboxActivation.Status.WAIT_RETRY: "3"}
        return {
            "activationId": str(row.pk),
            "serviceCode": row.service,
            "phoneNumber": row.phone,
            "activationCost": str(row.cost),
            "activationStatus": codes.get(row.status, "1"),
            "smsCode": [row.code] if row.code else None,
            "smsText": f"[{row.text}]" if row.text else None,
            "activationTime": row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "countryCode": str(row.country),
            "countryName": COUNTRIES[row.country].name if row.country in COUNTRIES else "",
            "canGetAnotherSms": "1",
            "orderId": row.order_ref,
        }
