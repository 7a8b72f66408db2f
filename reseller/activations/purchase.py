"""Buying an activation or a cheap number: the order core's engine (reseller.orders.engine)
with the adapter of the activations table. Both kinds are rows of `Activation` (`kind` tells
them apart) and share its state machine; they differ in lifetime, in where candidates come
from (a service and country, or a cheap server) and in how the price is set.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from reseller.models import Activation, OrderKind
from reseller.orders.engine import Check, OrderAdapter, order_purchase
from reseller.orders.errors import NoNumbers, OrderNotFound, UnknownProviderSlot
from reseller.orders.routing import Candidate, candidates_for, within_limit
from upstream.models import Country, Service
from upstream.providers import client_for
from upstream.providers.base import BuyRequest, Purchase
from upstream.routing_state import provider_by_slot

ORDER_REF_PREFIX = "act"


def order_ref(activation_id: int) -> str:
    """The reference a purchase sends upstream (`orderId`) and reconciliation finds again in
    the active list. Cheap orders are rows of the same table: the same reference."""
    return f"{ORDER_REF_PREFIX}{activation_id}"


@dataclass(frozen=True)
class PurchaseRequest:
    customer_id: int
    wallet_id: int
    service: Service
    country: Country | None  # None: any country (cheap servers)
    provider_slot: int | None = None  # OTPGet `type` / a cheap server's slot: that provider only
    max_price: Decimal | None = None  # PKR, the customer's cap
    operator: str | None = None  # SMS-Activate's `operator`: codes, comma-separated, lower case; None: any
    phone_exception: tuple[str, ...] = ()  # number prefixes the customer refuses
    order_id: str | None = None  # getNumberV2 `orderId`: at most one order per value
    kind: str = OrderKind.ACTIVATION
    cheap_server_id: int | None = None
    fixed_price: Decimal | None = None  # PKR: the sell price whatever the cost (cheap servers)
    parent_id: int | None = None  # a multi-service number's first activation; the one an extra repeats


def lifetime_seconds(kind: str) -> int:
    return settings.CHEAP_LIFETIME_SECONDS if kind == OrderKind.CHEAP else settings.ACTIVATION_LIFETIME_SECONDS


def _buy(activation: Activation, candidate: Candidate, req: PurchaseRequest) -> Purchase:
    """Phase 2: the upstream call (no transaction is open)."""
    return client_for(candidate.offer.provider).buy(
        BuyRequest(
            service=candidate.service_code,
            country=candidate.country_code,
            max_price=candidate.offer.cost,
            # The codes this provider lists; where nobody lists them, the customer's as sent (the
            # upstream then gives "the first operator that matches", SMS-Activate's API document).
            operator=candidate.operator or req.operator,
            phone_exception=req.phone_exception,
            order_ref=order_ref(activation.pk),
        )
    )


class ActivationOrders(OrderAdapter):
    model = Activation

    def lifetime_seconds(self, order) -> int:
        return lifetime_seconds(order.kind)

    def create(self, request: PurchaseRequest, first: Candidate) -> Activation:
        activation = self.build(request, first)
        activation.save(force_insert=True)
        return activation

    def build(self, request: PurchaseRequest, first: Candidate) -> Activation:
        return Activation(
            kind=request.kind,
            cheap_server_id=request.cheap_server_id,
            customer_id=request.customer_id,
            provider=first.offer.provider,
            service=request.service,
            country=first.offer.country,
            order_id=request.order_id,
            operator=request.operator or "",
            price=first.quote.price,
            cost=first.offer.cost,
            cost_pkr=first.quote.cost_pkr,
            parent_id=request.parent_id,
        )

    def is_duplicate(self, request: PurchaseRequest) -> bool:
        return (
            request.order_id is not None
            and Activation.objects.filter(customer_id=request.customer_id, order_id=request.order_id).exists()
        )

    def buy(self, order, candidate: Candidate, request: PurchaseRequest) -> Purchase:
        return _buy(order, candidate, request)

    def recorded(self, order, bought: Purchase, now) -> dict:
        return {"operator": bought.operator or order.operator or "any", "activated_at": now}

    def retargeted(self, order, candidate: Candidate) -> dict:
        return {"country": candidate.offer.country}  # any-country orders may move country

    def check(self, order, candidate: Candidate, request: PurchaseRequest) -> Check | None:
        """The active list read once, matched as reconciliation matches (`purchase_check`)."""
        from reseller.activations.reconcile import purchase_check  # reconcile imports this module

        return purchase_check(order, service_code=candidate.service_code, country_code=candidate.country_code)


ADAPTER = ActivationOrders()


def purchase_candidates(req: PurchaseRequest) -> list[Candidate]:
    """Offers the request may buy, in the order they are tried (reseller.orders.routing)."""
    if req.provider_slot is not None and provider_by_slot(req.provider_slot) is None:
        raise UnknownProviderSlot()
    return candidates_for(
        customer_id=req.customer_id,
        service=req.service,
        country=req.country,
        provider_slot=req.provider_slot,
        fixed_price=req.fixed_price,
        operator=req.operator,
        phone_exception=bool(req.phone_exception),
    )


def activation_purchase(req: PurchaseRequest) -> Activation:
    """Buy one number for the request (any kind of the activations table). Raises NoNumbers,
    PriceAboveLimit, UnknownProviderSlot, ProviderFailed, PriceChanged, InsufficientFunds,
    DuplicateOrder."""
    candidates = purchase_candidates(req)
    if not candidates:
        raise NoNumbers()
    return order_purchase(ADAPTER, req, within_limit(candidates, req.max_price))


def activation_for_customer(*, customer_id: int, activation_id: int, kind: str = OrderKind.ACTIVATION) -> Activation:
    activation = (
        Activation.objects.select_related("service", "country", "provider")
        .filter(pk=activation_id, customer_id=customer_id, kind=kind)
        .first()
    )
    if activation is None:
        raise OrderNotFound()
    return activation
