"""The interface every upstream protocol client implements.

Frozen dataclasses in and out; every result keeps the raw body. Errors are
the exceptions below, so callers never see `requests` or a protocol's tokens.
The one distinction that matters for money: `ProviderTimeout` means the
request may have been carried out (unknown outcome: never buy again blindly),
`ProviderUnavailable` means it certainly was not (connection refused, DNS).
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from upstream.models import Provider


# --- errors ----------------------------------------------------------------------


class ProviderError(Exception):
    """The upstream answered with an error (or garbage). `raw` is what it said,
    shown to customers as ERROR_PROVIDER_<slot>:<raw> when nothing better applies."""

    def __init__(self, raw: str = "", message: str = ""):
        super().__init__(message or raw)
        self.raw = raw


class NoNumbers(ProviderError):
    """No number for this service/country right now (NO_NUMBERS)."""


class MaxPriceRefused(ProviderError):
    """The upstream's price is above the maxPrice we sent (WRONG_MAX_PRICE:<min>)."""

    def __init__(self, raw: str = "", min_price: Decimal | None = None):
        super().__init__(raw)
        self.min_price = min_price


class ProviderNoBalance(ProviderError):
    """Our account at the upstream is out of money (NO_BALANCE)."""


class ProviderBadKey(ProviderError):
    """Our API key at the upstream is wrong (BAD_KEY)."""


class UnknownActivation(ProviderError):
    """The upstream does not know this activation id (NO_ACTIVATION, WRONG_ACTIVATION_ID)."""


class CancelTooEarly(ProviderError):
    """The upstream refuses to cancel yet (EARLY_CANCEL_DENIED)."""


class ExtraNotAvailable(ProviderError):
    """The number cannot take another activation (SMS-Activate `RENEW_ACTIVATION_NOT_AVAILABLE`)."""


class ExtraImpossible(ProviderError):
    """The upstream cannot make another activation on the number now (`NEW_ACTIVATION_IMPOSSIBLE`)."""


class SimOffline(ProviderError):
    """The number's SIM card is offline (`SIM_OFFLINE`)."""


class Unsupported(ProviderError):
    """The protocol has no such command: nothing was sent. `raw` is "UNSUPPORTED"."""

    RAW = "UNSUPPORTED"

    def __init__(self, raw: str = RAW, message: str = ""):
        super().__init__(raw or self.RAW, message)


class BadResponse(ProviderError):
    """HTML, an empty body, a redirect, an HTTP 5xx, an unparsable reply. `http_status`: the
    HTTP status when the reply was not a 2xx (None: a 2xx whose body is not a protocol reply)."""

    def __init__(self, raw: str = "", message: str = "", *, http_status: int | None = None):
        super().__init__(raw, message)
        self.http_status = http_status


# Statuses a gateway answers when it lost the upstream's application mid-request (bad gateway,
# gateway timeout, Cloudflare's origin errors and timeouts): the request may still be carried out
# behind it, as after a timeout. Any other reply (another status, a 2xx that does not parse) comes
# from an upstream that is done with the request.
GATEWAY_STATUSES = frozenset({502, 504, 520, 522, 524})


def upstream_done(error: ProviderError) -> bool:
    """Whether an unreadable reply shows the upstream finished handling the request (whatever it
    did is in its records by now): a `BadResponse` that is not a gateway's. A timeout, a dropped
    connection or a gateway error leave the request possibly still in flight."""
    return isinstance(error, BadResponse) and error.http_status not in GATEWAY_STATUSES


class ProviderUnavailable(ProviderError):
    """Could not reach the upstream at all: nothing happened there."""


class ProviderTimeout(ProviderError):
    """The request was sent and no answer came in time: the outcome is unknown."""


# --- what of an error may be shown -------------------------------------------------

SAFE_RAW_CHARS = 80
_TOKEN_RE = re.compile(r"[A-Z][A-Z0-9_]{1,63}(?::[A-Za-z0-9_.+-]{1,64}){0,3}")
_HTTP_STATUS_RE = re.compile(r"HTTP (\d{3})\b")
UNREADABLE = "BAD_RESPONSE"


def safe_raw(raw: str) -> str:
    """What of an upstream's reply may be shown in the admin, in command output and in a
    customer's ERROR_PROVIDER_<slot>:<raw>: a protocol token as is (`NO_NUMBERS`, `BAD_KEY`,
    `ERROR_SQL`, `WRONG_MAX_PRICE:12.50`, at most 80 characters), an HTTP failure as its status
    (`HTTP 502`), anything else (an HTML page, JSON, an internal service's body) as
    `BAD_RESPONSE`. The body itself only ever goes to the log."""
    text = " ".join(str(raw or "").split())
    if not text:
        return ""
    if len(text) <= SAFE_RAW_CHARS and _TOKEN_RE.fullmatch(text):
        return text
    status = _HTTP_STATUS_RE.match(text)
    if status:
        return f"HTTP {status.group(1)}"
    return UNREADABLE


def error_detail(error: ProviderError) -> str:
    """What of `error` may be shown to an operator: `safe_raw` of the reply; a failure before any
    reply was read (unavailable, timeout) keeps its message, which is our own words (connection
    refused, DNS, a refused destination, no answer in time), cut to 300 characters."""
    if error.raw:
        return safe_raw(error.raw)
    if isinstance(error, ProviderUnavailable | ProviderTimeout):
        return " ".join(str(error).split())[:300]
    return ""


def error_summary(error: ProviderError) -> str:
    """One short line: the error's class and `error_detail`."""
    detail = error_detail(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


# --- values ----------------------------------------------------------------------


class UpstreamState(enum.StrEnum):
    WAITING = "waiting"  # STATUS_WAIT_CODE / STATUS_WAIT_RESEND
    CODE = "code"  # STATUS_OK:<code>
    WAIT_RETRY = "wait_retry"  # STATUS_WAIT_RETRY:<previous code> (waiting for another SMS)
    CANCELLED = "cancelled"  # STATUS_CANCEL (SMS-Activate also says this for finished ones)
    FINISHED = "finished"  # known finished (protocols that distinguish it)


class SetStatus(enum.IntEnum):
    READY = 1
    RETRY = 3
    FINISH = 6
    CANCEL = 8


@dataclass(frozen=True)
class BuyRequest:
    service: str  # the upstream's service code
    country: int  # the upstream's country id
    max_price: Decimal | None = None  # in the provider's currency; sent where the protocol accepts it
    operator: str | None = None  # the upstream's operator code(s), comma-separated; sent where `takes_operator`
    order_ref: str = ""  # our idempotency reference (getNumberV2 orderId where supported)
    # Number prefixes the customer refuses (country code + 3 to 6 digits); sent where `takes_phone_exception`.
    phone_exception: tuple[str, ...] = ()


@dataclass(frozen=True)
class Purchase:
    upstream_id: str
    phone: str  # digits only, international format without '+'
    cost: Decimal | None  # in the provider's currency, when the upstream tells
    operator: str = "any"
    raw: str = ""


@dataclass(frozen=True)
class MultiRequest:
    """One number for several services (SMS-Activate getMultiServiceNumber)."""

    services: tuple[str, ...]  # the upstream's service codes, in order
    country: int
    operator: str | None = None


@dataclass(frozen=True)
class ExtraQuote:
    """What another activation on a number would cost (SMS-Activate checkExtraActivation)."""

    cost: Decimal  # provider currency
    service: str = ""  # the upstream's service code, where it says
    phone: str = ""
    raw: str = ""


@dataclass(frozen=True)
class StatusResult:
    state: UpstreamState
    code: str | None = None
    text: str | None = None  # full SMS text where the protocol gives it
    raw: str = ""


@dataclass(frozen=True)
class ActiveActivation:
    upstream_id: str
    phone: str
    state: UpstreamState
    code: str | None = None
    text: str | None = None
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PriceEntry:
    country: int
    service: str
    cost: Decimal  # provider currency
    count: int


@dataclass(frozen=True)
class OperatorEntry:
    country: int  # the upstream's country id
    code: str  # the operator as the upstream names it (`kyivstar`, `beeline`)
    name: str = ""


@dataclass(frozen=True)
class CountryEntry:
    id: int
    name: str


@dataclass(frozen=True)
class ServiceEntry:
    code: str
    name: str


# --- rentals ---------------------------------------------------------------------
# A rental is a number kept for a period (hours), receiving any number of SMS. Protocols with a
# rent API implement the `rent_*` methods of ProviderClient (`supports_rent = True`).

FULL_RENT = ""  # RentRequest.service / RentPrice.service: the number for every service ("full")


class RentCannotCancel(ProviderError):
    """The upstream refuses to cancel (refund) the rental: past its refund window, or an SMS came
    (SMS-Activate `CANT_CANCEL`, Get-SMS's 20-minute rule)."""


class RentEnded(ProviderError):
    """The rental is over upstream and cannot be changed or prolonged (`RENT_DIE`,
    `ALREADY_FINISH`, `ALREADY_CANCEL`)."""


class RentState(enum.StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"  # paid and ended (SMS-Activate STATUS_FINISH)
    CANCELLED = "cancelled"  # ended with a refund (STATUS_CANCEL)


class RentSetStatus(enum.IntEnum):
    FINISH = 1  # end it now, no refund
    CANCEL = 2  # end it with a refund (only inside the upstream's refund window)


@dataclass(frozen=True)
class RentPrice:
    country: int  # the upstream's country id (SMS-Activate numbering where native_codes)
    service: str  # the upstream's service code; FULL_RENT: the number for every service
    hours: int  # the period this price buys
    cost: Decimal  # provider currency
    count: int


@dataclass(frozen=True)
class RentRequest:
    country: int
    service: str  # FULL_RENT: any service
    hours: int
    max_price: Decimal | None = None  # provider currency; sent where the protocol accepts it
    order_ref: str = ""


@dataclass(frozen=True)
class Rented:
    upstream_id: str
    phone: str  # digits only
    ends_at: datetime | None  # as the upstream reports it (UTC, aware), when it does
    cost: Decimal | None = None  # provider currency, when the upstream tells
    raw: str = ""


@dataclass(frozen=True)
class RentSms:
    sms_id: str  # stable per rental: the upstream's id, else a digest of (date, sender, text)
    text: str
    sender: str
    received_at: datetime | None
    code: str | None = None


@dataclass(frozen=True)
class RentStatus:
    state: RentState
    sms: tuple[RentSms, ...] = ()
    ends_at: datetime | None = None
    raw: str = ""


# --- e-mails ---------------------------------------------------------------------
# An e-mail order is a mailbox reserved for a site, living until its first letter (or ~20
# minutes). Protocols that sell mailboxes implement the `email_*` methods (`supports_email`).

ANY_SITE = ""  # EmailPrice.service: a price per mailbox domain, whatever the site


class EmailEnded(ProviderError):
    """The e-mail order is over upstream: cancelled or expired (Kopeechka `ACTIVATION_CANCELED`,
    OTPGet e-mail status 300)."""


class EmailState(enum.StrEnum):
    WAITING = "waiting"  # no letter yet (Kopeechka WAIT_LINK, OTPGet 202)
    RECEIVED = "received"  # a letter came (it stays readable)
    CANCELLED = "cancelled"  # over without a letter: cancelled or expired (refunded upstream)


@dataclass(frozen=True)
class EmailPrice:
    domain: str  # the mailbox domain: gmail.com, mail.com, ...
    service: str  # ANY_SITE: this domain for any site; else the upstream's service code (OTPGet Server 1)
    cost: Decimal  # provider currency
    count: int
    name: str = ""  # the service's name where the upstream gives one


@dataclass(frozen=True)
class EmailRequest:
    domain: str
    site: str = ""  # the site that will write (Kopeechka `site`, OTPGet Server 2 `site`)
    service: str = ""  # the upstream's service code (OTPGet Server 1 `service_id`); "" none
    max_price: Decimal | None = None  # provider currency, where the protocol accepts it
    order_ref: str = ""


@dataclass(frozen=True)
class EmailBought:
    upstream_id: str
    email: str
    cost: Decimal | None = None  # provider currency, when the upstream tells
    raw: str = ""


@dataclass(frozen=True)
class EmailLetter:
    letter_id: str  # stable per order: the upstream's id, else a digest of the text
    text: str  # the whole letter as the upstream gives it
    code: str | None = None  # the code in it, where one was found
    sender: str = ""
    received_at: datetime | None = None  # as the upstream dates it (aware), when it does
    subject: str = ""


@dataclass(frozen=True)
class EmailStatus:
    state: EmailState
    letters: tuple[EmailLetter, ...] = ()
    raw: str = ""


@dataclass(frozen=True)
class EmailCancelled:
    """What a cancel did upstream: `refunded` (no letter came), or the letters that came first
    (then it was not cancelled: the order is paid, OTPGet "returns the code")."""

    refunded: bool
    letters: tuple[EmailLetter, ...] = ()
    raw: str = ""


# --- the interface ---------------------------------------------------------------


class ProviderClient(ABC):
    """One instance per provider row; cheap to build."""

    protocol: ClassVar[str]
    supports_active_list: bool = False  # a class attribute, or a property where it depends on the config
    # True: each entry of the active list names its service and country by the codes it was bought
    # with (`serviceCode`, `countryCode` in its raw item), so an entry of other codes is not ours.
    active_list_codes: ClassVar[bool] = False
    # True: the upstream names services by SMS-Activate codes and countries by SMS-Activate
    # numbers (translating its own slugs itself), so ours are used unless a mapping row says
    # otherwise. False: it has codes of its own, mapped through the admin-editable tables.
    native_codes: ClassVar[bool] = True

    def __init__(self, provider: Provider):
        self.provider = provider

    @abstractmethod
    def buy(self, request: BuyRequest) -> Purchase: ...

    @abstractmethod
    def status(self, upstream_id: str) -> StatusResult: ...

    @abstractmethod
    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        """Returns the upstream's success token (ACCESS_READY, ACCESS_CANCEL, ...)."""

    def active_activations(self, *, expected: int | None = None) -> list[ActiveActivation]:
        """Every live activation in one call (only where supports_active_list). `expected`: how
        many the caller thinks are live there; the reply may be that many entries long
        (`http.list_body_limit`), None keeps the plain body cap."""
        raise NotImplementedError

    @abstractmethod
    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]: ...

    @abstractmethod
    def countries(self) -> list[CountryEntry]: ...

    @abstractmethod
    def services(self) -> list[ServiceEntry]: ...

    @abstractmethod
    def balance(self) -> Decimal: ...

    # --- operators and number prefixes ---
    # `takes_operator`: buy() forwards BuyRequest.operator; `takes_phone_exception`: buy() forwards
    # BuyRequest.phone_exception and the upstream honours it (routing sends a purchase with
    # prefixes to exclude only to such clients).

    takes_operator: ClassVar[bool] = False
    takes_phone_exception: ClassVar[bool] = False

    def operators(self) -> list[OperatorEntry]:
        """Every (country, operator) the upstream sells numbers of (catalogue sync keeps them in
        `upstream.Operator`). Unsupported where the protocol has no operator list."""
        raise Unsupported()

    # --- one number, several activations (only where the flags say so) ---

    supports_multi_service: bool = False
    supports_extra_activation: bool = False

    def multi_buy(self, request: MultiRequest) -> list[Purchase]:
        """One number for every service of `request`: one Purchase per service, in its order (each
        its own upstream activation id, the same phone; `cost` None: the reply names no price)."""
        raise Unsupported()

    def extra_check(self, upstream_id: str) -> ExtraQuote:
        """Whether the number of the (successful) activation `upstream_id` can take another
        activation, and its cost. ExtraNotAvailable, SimOffline, UnknownActivation."""
        raise Unsupported()

    def extra_buy(self, upstream_id: str) -> Purchase:
        """Another activation on the number of `upstream_id` (the same service). ExtraNotAvailable,
        ExtraImpossible, ProviderNoBalance, UnknownActivation."""
        raise Unsupported()

    # --- rentals (only where supports_rent) ---

    supports_rent: bool = False

    def rent_prices(self) -> list[RentPrice]:
        """Every rentable (country, service, period) with its cost and stock."""
        raise Unsupported()

    def rent(self, request: RentRequest) -> Rented:
        raise Unsupported()

    def rent_status(self, upstream_id: str) -> RentStatus:
        """The rental's state and every SMS it received so far (all pages)."""
        raise Unsupported()

    def rent_set_status(self, upstream_id: str, status: RentSetStatus) -> str:
        """Finish or cancel; returns the upstream's success token. RentCannotCancel, RentEnded."""
        raise Unsupported()

    def rent_prolong(self, upstream_id: str, hours: int) -> Rented:
        """Extend by `hours`; the result carries the new end (and the id, which SMS-Activate may
        change when it reorders a completed rental). RentEnded when it cannot be extended."""
        raise Unsupported()

    def rent_prolong_price(self, upstream_id: str, hours: int) -> Decimal:
        """What `rent_prolong(upstream_id, hours)` would cost, provider currency (RentEnded as there)."""
        raise Unsupported()

    def rent_list(self) -> list[Rented]:
        """Every live rental of the account (`ends_at` None where the upstream's list omits it)."""
        raise Unsupported()

    # --- e-mails (only where supports_email) ---

    supports_email: bool = False
    email_lifetime_seconds: int = 1200  # how long the upstream keeps a mailbox waiting (Kopeechka: 20 minutes)

    def email_prices(self) -> list[EmailPrice]:
        """Every mailbox domain (and, where the protocol prices per service, every service on it)
        with its cost and stock."""
        raise Unsupported()

    def email_buy(self, request: EmailRequest) -> EmailBought:
        """Reserve a mailbox. NoNumbers (out of stock), ProviderNoBalance, ProviderError."""
        raise Unsupported()

    def email_status(self, upstream_id: str) -> EmailStatus:
        """The order's state and every letter so far. UnknownActivation for an id it does not know."""
        raise Unsupported()

    def email_cancel(self, upstream_id: str) -> EmailCancelled:
        """Cancel (refund) an order without a letter; an order that has one is not cancelled and its
        letters are returned (refunded=False), so a caller never needs to look first. EmailEnded
        when it is over already, UnknownActivation for an unknown id."""
        raise Unsupported()


class NoActivations:
    """For a client whose protocol sells no activations (rentals only, e-mails only): buying,
    status and setStatus are `Unsupported` (nothing sent), and the activation catalogue is empty,
    so catalogue sync writes no offers for it. Mix in before ProviderClient; `sells` names what it
    does sell, for the error's message."""

    sells: ClassVar[str] = ""

    def _only(self) -> Unsupported:
        return Unsupported(message=f"{self.protocol}: {self.sells} only")

    def buy(self, request: BuyRequest) -> Purchase:
        raise self._only()

    def status(self, upstream_id: str) -> StatusResult:
        raise self._only()

    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        raise self._only()

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        return []

    def countries(self) -> list[CountryEntry]:
        return []

    def services(self) -> list[ServiceEntry]:
        return []


CLIENTS: dict[str, str] = {
    "smsactivate": "upstream.providers.sms_activate.SmsActivateClient",
    "smsactivate-compat": "upstream.providers.sms_activate_compat.SmsActivateCompatClient",
    "otpbuddy": "upstream.providers.otpbuddy.OtpBuddyClient",
    "getsms": "upstream.providers.getsms.GetSmsClient",
    "otpget": "upstream.providers.otpget.OtpGetClient",
    "otpget-cheap": "upstream.providers.otpget_cheap.OtpGetCheapClient",
    "otpget-rental": "upstream.providers.otpget_rental.OtpGetRentalClient",
    "sandbox": "upstream.providers.sandbox.SandboxClient",
    "kopeechka": "upstream.providers.kopeechka.KopeechkaClient",
    "otpget-email": "upstream.providers.otpget_email.OtpGetEmailClient",
}


def client_class(protocol: str) -> type[ProviderClient]:
    return import_string(CLIENTS[protocol])


def client_for(provider: Provider) -> ProviderClient:
    return client_class(provider.protocol)(provider)
