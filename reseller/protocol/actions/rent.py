"""SMS-Activate's rent actions on handler_api.php (docs/rentals.md). Their errors are the
documented JSON `{"status":"error","message":"..."}`, never a bare token: each action catches
its own errors (`_rent_action`); only the key check before it answers the bare BAD_KEY."""

import functools
import logging
import uuid

from django.utils import timezone

from billing.money import format_pkr
from reseller.models import Rental
from reseller.orders import errors as act
from reseller.protocol.actions import inputs
from reseller.protocol.actions.activations import PKR_ISO_NUMERIC
from reseller.protocol.context import Call
from reseller.protocol.render import Json
from reseller.rentals import errors as rent_errors
from reseller.rentals.lifecycle import rental_cancel, rental_finish, rental_renew
from reseller.rentals.purchase import RentalRequest, rental_purchase
from reseller.rentals.rent_reads import (
    FULL,
    renewal_periods,
    renewal_price,
    rent_catalogue,
    rent_periods,
    sold_period,
)
from reseller.rentals.selectors import rental_messages, rental_of, rental_renewals, rentals_of
from upstream.selectors import service_by_code_or_id

log = logging.getLogger("reseller.protocol")
State = Rental.State
END_FORMAT = "%Y-%m-%dT%H:%M:%S"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class RentError(Exception):
    """A documented rent error message (and the `info` some carry)."""

    def __init__(self, message: str, info: dict | None = None):
        super().__init__(message)
        self.message = message
        self.info = info


MESSAGES = {
    act.UnknownService: "BAD_SERVICE",
    act.InsufficientFunds: "NO_BALANCE",
    act.NoNumbers: "NO_NUMBERS",
    act.PriceAboveLimit: "NO_NUMBERS",
    act.UnknownCountry: "NO_NUMBERS",
    rent_errors.NoRentalPricing: "NO_NUMBERS",
    rent_errors.RentalCannotCancel: "CANT_CANCEL",
    act.OrderNotFound: "INVALID_PHONE",
    act.ProviderFailed: "SERVER_ERROR",
    act.PriceChanged: "SERVER_ERROR",
    rent_errors.RenewalInProgress: "SERVER_ERROR",
}


def _error(exc: Exception) -> Json:
    if isinstance(exc, RentError):
        body = {"status": "error", "message": exc.message}
        if exc.info is not None:
            body["info"] = exc.info
        return Json(body)
    for cls in type(exc).__mro__:
        if cls in MESSAGES:
            return Json({"status": "error", "message": MESSAGES[cls]})
    log.exception("unexpected error in a rent action")
    return Json({"status": "error", "message": "SERVER_ERROR"})


def _rent_action(action):
    @functools.wraps(action)
    def run(call: Call) -> Json:
        try:
            return action(call)
        except Exception as exc:  # noqa: BLE001 - every rent error is the documented JSON
            return _error(exc)

    return run


# --- parameters ---------------------------------------------------------------------------


def _hours(call: Call, name: str, periods: list[int], *, none_sold: str) -> int:
    """A period the catalogue sells: absent → the shortest; otherwise the shortest period at
    least as long as asked (SMS-Activate's 2 or 4 hours buy our shortest). INVALID_TIME for
    anything that is not a positive whole number; MAX_HOURS_EXCEED (info max) above the longest.
    `time` stands for an absent `rent_time` (client libraries send it)."""
    raw = (call.params.get(name) or "").strip()
    if raw == "" and name == "rent_time":
        raw = (call.params.get("time") or "").strip()  # what the `smsactivate` library sends
    if not periods:
        raise RentError(none_sold)
    if raw == "":
        return periods[0]
    if not raw.isdigit() or int(raw) < 1:
        raise RentError("INVALID_TIME")
    hours = sold_period(int(raw), periods)
    if hours is None:
        raise RentError("MAX_HOURS_EXCEED", {"max": periods[-1]})
    return hours


def _rental(call: Call) -> Rental:
    raw = (call.params.get("id") or "").strip()
    if raw == "":
        raise RentError("NO_ID_RENT")
    if not raw.isdigit() or not 0 < int(raw) <= inputs.MAX_ID:
        raise RentError("INVALID_PHONE")
    return rental_of(customer_id=call.principal.customer_id, rental_id=int(raw))


def _end(rental: Rental) -> str:
    return timezone.localtime(rental.expires_at).strftime(END_FORMAT) if rental.expires_at else ""


def _phone(rental: Rental) -> Json:
    return Json({"status": "success", "phone": {"id": rental.pk, "endDate": _end(rental), "number": rental.phone}})


def _service(call: Call):
    """`service`: a code, or "full" for the number for every service (None)."""
    raw = (call.params.get("service") or "").strip()
    if raw.lower() == FULL:
        return None
    found = service_by_code_or_id(raw) if raw else None
    if found is None:
        raise act.UnknownService()
    return found


def _live(rental: Rental) -> None:
    if rental.state != State.ACTIVE:
        raise RentError("RENT_DIE")


# --- actions --------------------------------------------------------------------------------


@_rent_action
def get_rent_services_and_countries(call: Call) -> Json:
    """Prices are PKR whatever `currency` asks (586); `operator` and `incomingCall` do not narrow
    (rentals have no operator choice here: "any")."""
    try:
        country = inputs.country(call, default=0)
    except act.UnknownCountry:
        raise RentError("OUT_OF_STOCK") from None
    hours = _hours(call, "rent_time", rent_periods(country_id=country.pk), none_sold="OUT_OF_STOCK")
    lines = rent_catalogue(customer_id=call.principal.customer_id, country=country, hours=hours)
    if not lines:
        raise RentError("OUT_OF_STOCK")
    return Json(
        {
            "countries": {"0": country.pk},
            "operators": {"0": "any"},
            "services": {line.code: {"cost": line.price, "quant": line.quant} for line in lines},
            "currency": PKR_ISO_NUMERIC,
        }
    )


@_rent_action
def get_rent_number(call: Call) -> Json:
    service = _service(call)
    country = inputs.country(call, default=0)
    hours = _hours(call, "rent_time", rent_periods(country_id=country.pk), none_sold="NO_NUMBERS")
    url = (call.params.get("url") or "").strip()
    if len(url) > 500 or (url and not url.startswith(("http://", "https://"))):
        url = ""  # not a webhook we could call: not considered (the default)
    rental = rental_purchase(
        RentalRequest(
            customer_id=call.principal.customer_id,
            wallet_id=call.principal.wallet_id,
            country=country,
            service=service,
            hours=hours,
            webhook_url=url,
        )
    )
    return _phone(rental)


@_rent_action
def get_rent_status(call: Call) -> Json:
    rental = _rental(call)
    if rental.state == State.CANCELLED:
        raise RentError("STATUS_CANCEL")
    if rental.state in (State.FINISHED, State.EXPIRED):
        raise RentError("STATUS_FINISH")
    messages = rental_messages(rental)
    if not messages:
        raise RentError("STATUS_WAIT_CODE")
    page = inputs.bounded_int(call.params.get("page"), default=1, low=1, high=1_000_000)
    size = inputs.bounded_int(call.params.get("size"), default=10, low=1, high=100)
    shown = messages[(page - 1) * size : page * size]
    code = rental.service.code if rental.service else FULL
    return Json(
        {
            "status": "success",
            "quantity": str(len(messages)),
            "values": {
                str(i): {
                    "phoneFrom": sms.sender,
                    "text": sms.text,
                    "service": code,
                    "date": timezone.localtime(sms.received_at or sms.created_at).strftime(TIME_FORMAT),
                }
                for i, sms in enumerate(shown)
            },
        }
    )


@_rent_action
def set_rent_status(call: Call) -> Json:
    if (call.params.get("id") or "").strip() == "":
        raise RentError("NO_ID_RENT")
    status = (call.params.get("status") or "").strip()
    if status not in ("1", "2"):
        raise RentError("INCORECT_STATUS")
    rental = _rental(call)
    try:
        (rental_finish if status == "1" else rental_cancel)(rental=rental)
    except act.OrderAlreadyEnded as exc:
        raise RentError("ALREADY_CANCEL" if exc.state == State.CANCELLED else "ALREADY_FINISH") from None
    return Json({"status": "success"})


@_rent_action
def get_rent_list(call: Call) -> Json:
    live = rentals_of(customer_id=call.principal.customer_id, live_only=True)
    page = inputs.bounded_int(call.params.get("page"), default=1, low=1, high=1_000_000)
    length = inputs.bounded_int(call.params.get("length"), default=10, low=1, high=100)
    shown = live[(page - 1) * length : page * length]
    if not shown:
        raise RentError("NO_NUMBERS")
    return Json(
        {"status": "success", "values": {str(i): {"id": str(r.pk), "phone": r.phone} for i, r in enumerate(shown)}}
    )


@_rent_action
def continue_rent_number(call: Call) -> Json:
    """`requestId` (ours, optional) names the renewal: the same one again is charged once.
    Without it every request is a renewal of its own, as at SMS-Activate."""
    rental = _rental(call)
    _live(rental)
    hours = _hours(call, "rent_time", renewal_periods(rental), none_sold="INVALID_TIME")
    key = (call.params.get("requestId") or "").strip()[:80] or uuid.uuid4().hex
    try:
        rental_renew(rental=rental, hours=hours, request_key=f"sa:{key}", wallet_id=call.principal.wallet_id)
    except act.OrderAlreadyEnded:
        raise RentError("RENT_DIE") from None
    rental.refresh_from_db()
    return _phone(rental)


def _quote(call: Call, param: str) -> tuple[Rental, int, object]:
    rental = _rental(call)
    _live(rental)
    hours = _hours(call, param, renewal_periods(rental), none_sold="INVALID_TIME")
    price = renewal_price(rental, hours)
    if price is None:
        raise RentError("INVALID_TIME")
    return rental, hours, price


@_rent_action
def get_continue_rent_price_number(call: Call) -> Json:
    _, _, price = _quote(call, "rent_time")
    return Json({"status": "success", "price": price, "currency": PKR_ISO_NUMERIC})


@_rent_action
def continue_rent_info(call: Call) -> Json:
    rental, hours, price = _quote(call, "hours")
    body = {"status": "success", "price": price, "currency": PKR_ISO_NUMERIC, "hours": hours}
    if (call.params.get("needHistory") or "").strip().lower() in ("true", "1"):
        body["history"] = {
            str(i): {
                "createDate": timezone.localtime(r.created_at).strftime(TIME_FORMAT),
                "price": format_pkr(r.price),
                "hours": r.hours,
            }
            for i, r in enumerate(rental_renewals(rental))
        }
    return Json(body)


ACTIONS = {
    "getRentServicesAndCountries": get_rent_services_and_countries,
    "getRentNumber": get_rent_number,
    "getRentStatus": get_rent_status,
    "setRentStatus": set_rent_status,
    "getRentList": get_rent_list,
    "continueRentNumber": continue_rent_number,
    "getContinueRentPriceNumber": get_continue_rent_price_number,
    "continueRentInfo": continue_rent_info,
}
