"""One number used more than once: getMultiServiceNumber (one number for several services) and
getExtraActivation / checkExtraActivation (another activation on a number that succeeded).
The domain is reseller/activations/multi.py and extra.py; the tokens are handler_api.py's table,
except the parent id's, which these actions answer themselves (`WRONG_ACTIVATION_ID`)."""

from reseller.activations.extra import extra_offer, extra_purchase
from reseller.activations.multi import MAX_SERVICES, MultiPurchaseRequest, multi_service_purchase
from reseller.orders.errors import OrderNotFound, UnknownService
from reseller.protocol.actions import inputs
from reseller.protocol.context import Call
from reseller.protocol.render import Json, Token
from upstream.selectors import service_by_code_or_id

WRONG_ACTIVATION_ID = Token("WRONG_ACTIVATION_ID")


def _services(call: Call) -> tuple:
    """`multiService`: codes (or numeric ids) separated by commas, distinct, 1 to MAX_SERVICES."""
    raw = call.params.get("multiService")
    codes = [code.strip() for code in (raw or "").split(",")]
    if not raw or not all(codes) or len(codes) > MAX_SERVICES:
        raise UnknownService()
    services = [service_by_code_or_id(code) for code in codes]
    if any(s is None for s in services) or len({s.pk for s in services}) != len(services):
        raise UnknownService()
    return tuple(services)


def get_multi_service_number(call: Call) -> Json:
    """`[{"phone":"919701000003","activation":12,"service":"tg"},...]`, one entry per service in the
    order asked: one number, an activation (its own id, price and hold) per service."""
    services = _services(call)
    bought = multi_service_purchase(
        MultiPurchaseRequest(
            customer_id=call.principal.customer_id,
            wallet_id=call.principal.wallet_id,
            services=services,
            country=inputs.country(call, default=0),
            provider_slot=inputs.provider_slot(call),
            operator=inputs.operator(call),
        )
    )
    return Json(
        [{"phone": a.phone, "activation": a.pk, "service": s.code} for a, s in zip(bought, services, strict=True)]
    )


def _parent_id(call: Call) -> int | None:
    """`activationId` (the document's), else `id` (what some client libraries send); None when
    missing or not a positive integer."""
    for name in ("activationId", "id"):
        raw = call.params.get(name)
        if raw is not None and raw.strip():
            return inputs.positive_int(raw)
    return None


def check_extra_activation(call: Call) -> Json | Token:
    """`{"status":"success","cost":14.40,"service":"tg","phone":919701000003,"country":22}`."""
    parent_id = _parent_id(call)
    if parent_id is None:
        return WRONG_ACTIVATION_ID
    try:
        offered = extra_offer(customer_id=call.principal.customer_id, activation_id=parent_id)
    except OrderNotFound:
        return WRONG_ACTIVATION_ID
    parent = offered.parent
    return Json(
        {
            "status": "success",
            "cost": offered.price,
            "service": parent.service.code,
            "phone": int(parent.phone),
            "country": parent.country_id,
        }
    )


def get_extra_activation(call: Call) -> Token:
    """`ACCESS_NUMBER:<new id>:<phone>`: a new activation on the parent's number."""
    parent_id = _parent_id(call)
    if parent_id is None:
        return WRONG_ACTIVATION_ID
    try:
        activation = extra_purchase(
            customer_id=call.principal.customer_id, wallet_id=call.principal.wallet_id, activation_id=parent_id
        )
    except OrderNotFound:
        return WRONG_ACTIVATION_ID
    return Token("ACCESS_NUMBER", (str(activation.pk), activation.phone))
