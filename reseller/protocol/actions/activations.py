"""Activation actions of handler_api.php. Replies come from our database only:
getStatus never calls an upstream (status sync does, in Celery)."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from billing.money import ZERO
from reseller.activations.lifecycle import (
    Change,
    activation_cancel,
    activation_finish,
    activation_ready,
    activation_request_another,
)
from reseller.activations.purchase import PurchaseRequest, activation_for_customer, activation_purchase
from reseller.activations.selectors import activation_status, activations_history, activations_live
from reseller.models import Activation
from reseller.orders.errors import UnknownService
from reseller.protocol.actions import inputs
from reseller.protocol.context import Call
from reseller.protocol.errors import BadDate
from reseller.protocol.render import Json, Token
from upstream.selectors import offer_listed

State = Activation.State
PKR_ISO_NUMERIC = 586
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# SMS-Activate's numeric activation statuses, as shown in active lists and history.
WIRE_STATUS = {
    State.REQUESTING: "2",
    State.ACTIVE: "2",
    State.WAITING_RETRY: "3",
    State.CODE_RECEIVED: "4",
    State.FINISHED: "6",
    State.CANCELLED: "8",
    State.EXPIRED: "8",
    State.FAILED: "8",
    State.UNKNOWN: "8",
}


def _time(value) -> str:
    return timezone.localtime(value).strftime(TIME_FORMAT) if value else ""


def _purchase(call: Call, *, with_order_id: bool) -> Activation:
    slot = inputs.provider_slot(call)
    service = inputs.service(call)
    # SMS-Activate software may omit the country (0 by default); OTPGet's dialect must name it.
    country = inputs.country(call, default=None if slot is not None else 0, required=slot is not None)
    if slot is not None and not offer_listed(service_id=service.pk, country_id=country.pk, provider_slot=slot):
        # OTPGet's table: BAD_SERVICE is "service code not found for given country/type"; a listed
        # service out of stock stays NO_NUMBERS.
        raise UnknownService()
    return activation_purchase(
        PurchaseRequest(
            customer_id=call.principal.customer_id,
            wallet_id=call.principal.wallet_id,
            service=service,
            country=country,
            provider_slot=slot,
            max_price=inputs.max_price(call),
            operator=inputs.operator(call),
            phone_exception=inputs.phone_exception(call),
            order_id=inputs.order_id(call) if with_order_id else None,
        )
    )


def get_number(call: Call) -> Token:
    activation = _purchase(call, with_order_id=False)
    return Token("ACCESS_NUMBER", (str(activation.pk), activation.phone))


def get_number_v2(call: Call) -> Json:
    a = _purchase(call, with_order_id=True)
    return Json(
        {
            "activationId": a.pk,
            "phoneNumber": a.phone,
            "activationCost": a.price,
            "currency": PKR_ISO_NUMERIC,
            "countryCode": str(a.country_id),
            "canGetAnotherSms": "1",
            "activationTime": _time(a.activated_at),
            "activationOperator": a.operator or "any",
        }
    )


def _mine(call: Call, *, wrong_id: bool = False) -> Activation:
    return activation_for_customer(
        customer_id=call.principal.customer_id, activation_id=inputs.activation_id(call, wrong_id=wrong_id)
    )


def get_status(call: Call) -> Token:
    p = call.principal
    a = activation_status(
        customer_id=p.customer_id, activation_id=inputs.activation_id(call), read=(p.status_of, p.status)
    )
    if a.state == State.CODE_RECEIVED:
        return Token("STATUS_OK", (a.code,))
    if a.state == State.WAITING_RETRY:
        return Token("STATUS_WAIT_RETRY", (a.previous_code,))
    if a.state in (State.REQUESTING, State.ACTIVE):
        return Token("STATUS_WAIT_CODE")
    return Token("STATUS_CANCEL")


def get_status_v2(call: Call) -> Json | Token:
    a = _mine(call)
    if a.state in Activation.ENDED_STATES and a.state != State.FINISHED:
        return Token("STATUS_CANCEL")
    sms = None
    if a.sms_at is not None:
        sms = {"dateTime": _time(a.sms_at), "code": a.code or a.previous_code, "text": a.sms_text}
    return Json({"verificationType": 0, "sms": sms, "call": None})


def get_full_sms(call: Call) -> Token:
    a = _mine(call)
    if a.sms_at is not None and a.state in (State.CODE_RECEIVED, State.WAITING_RETRY, State.FINISHED):
        return Token("FULL_SMS", (a.sms_text or a.code,))
    if a.state in (State.REQUESTING, State.ACTIVE, State.WAITING_RETRY):
        return Token("STATUS_WAIT_CODE")
    return Token("STATUS_CANCEL")


# handler_api.php's setStatus: SMS-Activate's status numbers, and the token for each outcome
# (product decision P11: a cancel answers ACCESS_CANCEL whether it refunded or, after the code, finished).
SET_STATUS = {
    1: (activation_ready, {Change.READY: "ACCESS_READY"}),
    3: (activation_request_another, {Change.RETRY: "ACCESS_RETRY_GET"}),
    6: (activation_finish, {Change.FINISHED: "ACCESS_ACTIVATION"}),
    8: (activation_cancel, {Change.CANCELLED: "ACCESS_CANCEL", Change.FINISHED: "ACCESS_CANCEL"}),
    -1: (activation_cancel, {Change.CANCELLED: "ACCESS_CANCEL", Change.FINISHED: "ACCESS_CANCEL"}),
}


def set_status(call: Call) -> Token:
    """SMS-Activate's API document lists WRONG_ACTIVATION_ID ("invalid ID or ID is not a number") for setStatus only
    among the id actions: a malformed id answers it here; getStatus/getStatusV2 say NO_ACTIVATION."""
    change, tokens = SET_STATUS[inputs.status(call)]
    return Token(tokens[change(activation=_mine(call, wrong_id=True))])


def _active_item(a: Activation) -> dict:
    return {
        "activationId": str(a.pk),
        "serviceCode": a.service.code,
        "phoneNumber": a.phone,
        "activationCost": a.price,
        "activationStatus": WIRE_STATUS[a.state],
        "smsCode": [a.code] if a.code else None,
        "smsText": f"[{a.sms_text}]" if a.sms_text else None,
        "activationTime": _time(a.activated_at or a.created_at),
        "discount": "0.00",
        "repeated": "0",
        "countryCode": str(a.country_id),
        "countryName": a.country.name,
        "canGetAnotherSms": "1",
        "currency": PKR_ISO_NUMERIC,
    }


def get_active_activations(call: Call) -> Json | Token:
    live = activations_live(customer_id=call.principal.customer_id)
    if not live:
        return Token("NO_ACTIVATIONS")
    return Json({"status": "success", "activeActivations": [_active_item(a) for a in live]})


def _timestamp(raw: str | None):
    if raw is None or raw.strip() == "":
        return None
    try:
        return datetime.fromtimestamp(int(raw.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise BadDate() from None


def get_history(call: Call) -> Json:
    """Ended and live activations, newest first, as a JSON array (`[]` when none): the document's
    own top-level type for this action. Dates are limited to 30 days."""
    now = timezone.now()
    start, end = _timestamp(call.params.get("start")), _timestamp(call.params.get("end"))
    end = end or now
    start = start or end - timedelta(days=30)
    if start > end or end - start > timedelta(days=30):
        raise BadDate()
    offset = inputs.bounded_int(call.params.get("offset"), default=0, low=0, high=1_000_000)
    limit = inputs.bounded_int(call.params.get("limit"), default=50, low=1, high=100)
    rows = activations_history(customer_id=call.principal.customer_id, start=start, end=end, offset=offset, limit=limit)
    return Json(
        [
            {
                "id": a.pk,
                "date": _time(a.activated_at or a.created_at),
                "phone": a.phone,
                "sms": [a.sms_text or a.code] if a.sms_at else None,
                "cost": a.price if a.state in (State.FINISHED, State.CODE_RECEIVED, State.WAITING_RETRY) else ZERO,
                "status": WIRE_STATUS[a.state],
                "currency": PKR_ISO_NUMERIC,
            }
            for a in rows
        ]
    )
