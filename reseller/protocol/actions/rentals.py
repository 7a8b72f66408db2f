"""rental-handler.php's seven actions (docs/rentals.md, "rental-handler.php").

The reply shapes are the ones decided in upstream.providers.otpget_rental_wire (SHAPES): our
otpget-rental client reads exactly these from another instance of this server. Whole numbers
only (a rental here is SMS-Activate's "full" rental: service None). Countries are the ISO-like
codes of upstream/data/iso_countries.csv; `order_id` and `id` are both our rental's id.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

from billing.models import LedgerAccount
from billing.money import format_pkr
from reseller.models import Rental, RentalServer
from reseller.orders.errors import OrderAlreadyEnded, OrderNotFound, ProviderFailed
from reseller.protocol.context import Call
from reseller.protocol.errors import ProtocolError
from reseller.protocol.render import Json
from reseller.rentals.errors import BadDuration, NoRentalPricing, RentalServerUnavailable
from reseller.rentals.lifecycle import rental_renew
from reseller.rentals.purchase import RentalRequest, rent_candidates, rental_purchase
from reseller.rentals.selectors import full_rent_offers, rental_messages, rental_of, rentals_of
from reseller.rentals.servers import DURATIONS, check_duration, rental_server
from upstream.models import Country
from upstream.providers.base import safe_raw
from upstream.providers.otpget_rental import iso_countries
from upstream.providers.otpget_rental_wire import (
    ACTIVE,
    CANCELLED,
    EXPIRED,
    OK,
    RENEWED_MESSAGE,
    RENTED_MESSAGE,
    TIME_FORMAT,
)
from upstream.selectors import country_get

PAKISTAN = timezone(timedelta(hours=5))
_DIGITS = re.compile(r"[0-9]{1,18}")
WIRE_STATES = {
    Rental.State.ACTIVE: ACTIVE,
    Rental.State.EXPIRED: EXPIRED,
    Rental.State.FINISHED: EXPIRED,  # ended by the customer or upstream: over, like an expiry
    Rental.State.CANCELLED: CANCELLED,
}


class MissingParam(ProtocolError):
    def __init__(self, param: str):
        super().__init__(param)
        self.param = param


class BadProvider(ProtocolError):
    """`provider` other than 1 or 2."""


class ServerError(ProtocolError):
    """An upstream error, told as `Server N error: <its words>`."""

    def __init__(self, server: int | str, raw: str):
        super().__init__(f"server {server}: {raw}")
        self.server = server
        self.raw = safe_raw(raw) or "ERROR"  # a token or `HTTP <status>`, never a foreign body


# --- parameters ---------------------------------------------------------------------------------


def _required(call: Call, name: str) -> str:
    raw = call.params.get(name)
    if raw is None or raw.strip() == "":
        raise MissingParam(name)
    return raw.strip()


def _server_number(raw: str) -> int:
    if raw not in ("1", "2"):
        raise BadProvider()
    return int(raw)


def _hours(raw: str, server: int | None) -> int:
    """duration_hours: a period we sell (Server 2: monthly only), else BadDuration."""
    if not _DIGITS.fullmatch(raw):
        raise BadDuration(server)
    return check_duration(server, int(raw))


def _country(code: str) -> Country | None:
    """The country of an ISO-like code; None when unknown or switched off (as unknown)."""
    number = iso_countries().get(code.lower())
    return country_get(number) if number is not None else None


def _codes() -> dict[int, str]:
    codes: dict[int, str] = {}
    for code, number in iso_countries().items():
        codes.setdefault(number, code)
    return codes


# --- formatting -----------------------------------------------------------------------------------


def pakistan_time(moment: datetime | None) -> str:
    return moment.astimezone(PAKISTAN).strftime(TIME_FORMAT) if moment else ""


def utc_stamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _available(wallet_id: int) -> str:
    wallet = LedgerAccount.objects.only("balance", "held").get(pk=wallet_id)
    return format_pkr(wallet.balance - wallet.held)


def _server_name(rental: Rental) -> str:
    return f"Server {rental.server}" if rental.server else ""


# --- catalogue ------------------------------------------------------------------------------------


def _servers(call: Call) -> list[RentalServer]:
    """getRentalCountries' servers: the one asked for (503 when unavailable), or every available one."""
    raw = call.params.get("provider")
    if raw is not None and raw.strip():
        return [rental_server(_server_number(raw.strip()))]
    found = []
    for number in RentalServer.SERVERS:
        try:
            found.append(rental_server(number))
        except RentalServerUnavailable:
            continue  # not listed
    return found


def _durations(server: int) -> tuple[int, ...]:
    return RentalServer.SERVER_2_HOURS if server == 2 else DURATIONS


def get_rental_countries(call: Call) -> Json:
    codes, countries = _codes(), []
    for server in _servers(call):
        seen = set()
        for offer in full_rent_offers(provider_id=server.provider_id, hours=_durations(server.server)):
            code = codes.get(offer.country_id)
            if code is None or offer.country_id in seen:
                continue
            seen.add(offer.country_id)
            countries.append(
                {
                    "id": str(offer.country_id),
                    "provider": str(server.server),
                    "name": offer.country.name,
                    "country_code": code,
                }
            )
    return Json({"status": OK, "countries": countries})


def _where(call: Call) -> tuple[Country | None, RentalServer]:
    code = _required(call, "country_code")
    server = rental_server(_server_number(_required(call, "provider")))
    return _country(code), server


def get_rental_pricing(call: Call) -> Json:
    """The cheapest sell price of each period (what rentNumber charges); an unknown or unrented
    country has an empty list."""
    country, server = _where(call)
    pricing = []
    if country is not None:
        for hours in _durations(server.server):
            candidates = rent_candidates(
                customer_id=call.principal.customer_id,
                country=country,
                service=None,
                hours=hours,
                provider_slot=server.provider.slot,
            )
            if candidates:
                best = candidates[0]
                pricing.append(
                    {
                        "id": str(best.offer.pk),
                        "duration_hours": str(hours),
                        "price": format_pkr(best.quote.price),
                        "country_name": country.name,
                    }
                )
    return Json({"status": OK, "pricing": pricing})


def get_available_rentals(call: Call) -> Json:
    """One area per country (we do not sell by area code): the stock of its best-stocked period;
    `min_month` the shortest period sold, in whole months (0: less than a month)."""
    country, server = _where(call)
    available = []
    if country is not None:
        offers = full_rent_offers(
            provider_id=server.provider_id, hours=_durations(server.server), country_id=country.pk
        )
        code = _codes().get(country.pk)
        if offers and code:
            available.append(
                {
                    "area_code": code,
                    "area_title": country.name,
                    "available": max(o.stock for o in offers),
                    "min_month": min(o.hours for o in offers) // 720,
                }
            )
    return Json({"status": OK, "available": available})


# --- renting --------------------------------------------------------------------------------------


def rent_number(call: Call) -> Json:
    code = _required(call, "country_code")
    number = _server_number(_required(call, "provider"))
    server = rental_server(number)
    hours = _hours(_required(call, "duration_hours"), number)
    country = _country(code)
    if country is None:
        raise NoRentalPricing()
    try:
        rental = rental_purchase(
            RentalRequest(
                customer_id=call.principal.customer_id,
                wallet_id=call.principal.wallet_id,
                country=country,
                service=None,
                hours=hours,
                provider_slot=server.provider.slot,
                server=number,
            )
        )
    except ProviderFailed as exc:
        raise ServerError(number, exc.raw) from None
    return Json(
        {
            "status": OK,
            "message": RENTED_MESSAGE,
            "phone": rental.phone,
            "order_id": str(rental.pk),
            "duration_hours": rental.hours,
            "price_paid": format_pkr(rental.price),
            "new_balance": _available(call.principal.wallet_id),
            "expires": pakistan_time(rental.expires_at),
        }
    )


def get_my_rentals(call: Call) -> Json:
    codes = _codes()
    rentals = [
        {
            "id": str(r.pk),
            "server": _server_name(r),
            "phone_number": r.phone,
            "order_id": str(r.pk),
            "status": WIRE_STATES.get(r.state, EXPIRED),
            "country_code": codes.get(r.country_id, ""),
            "expiry_time": pakistan_time(r.expires_at),
        }
        for r in rentals_of(customer_id=call.principal.customer_id)
    ]
    return Json({"status": OK, "rentals": rentals})


def _rental(call: Call, name: str) -> Rental:
    raw = _required(call, name)
    if not _DIGITS.fullmatch(raw):
        raise OrderNotFound()
    return rental_of(customer_id=call.principal.customer_id, rental_id=int(raw))


def get_rental_sms(call: Call) -> Json:
    """Every SMS the rental received, oldest first; `from` the sender the upstream named (else
    the server's name); `code` the code found in it (else "")."""
    rental = _rental(call, "order_id")
    messages = [
        {
            "id": str(sms.pk),
            "from": sms.sender or _server_name(rental),
            "text": sms.text,
            "code": sms.code or "",
            "timestamp": utc_stamp(sms.received_at or sms.created_at),
        }
        for sms in rental_messages(rental, newest_first=False)
    ]
    return Json({"status": OK, "messages": messages})


def renew_rental(call: Call) -> Json:
    """Extend an active rental; `request_id` (optional, ours) makes a repeated request one renewal."""
    rental = _rental(call, "rental_id")
    hours = _hours(_required(call, "duration_hours"), rental.server)
    if rental.state != Rental.State.ACTIVE:
        raise OrderAlreadyEnded(rental.state)
    server = rental.server or rental.provider.slot
    if rental.server:
        rental_server(rental.server)
    key = (call.params.get("request_id") or "").strip()[:100] or f"auto-{uuid.uuid4().hex}"
    try:
        renewal = rental_renew(rental=rental, hours=hours, request_key=key, wallet_id=call.principal.wallet_id)
    except ProviderFailed as exc:
        raise ServerError(server, exc.raw) from None
    if renewal.state != renewal.State.DONE:  # the same request_id again, after it failed
        raise ServerError(server, renewal.failure or "renewal failed")
    rental.refresh_from_db()
    return Json(
        {
            "status": OK,
            "message": RENEWED_MESSAGE,
            "phone_number": rental.phone,
            "duration_hours": renewal.hours,
            "price_paid": format_pkr(renewal.price),
            "new_balance": _available(call.principal.wallet_id),
            "new_expiry": pakistan_time(renewal.expires_after or rental.expires_at),
        }
    )
