"""One number for several services (handler_api.php getMultiServiceNumber, docs/activations.md).

One upstream purchase (`ProviderClient.multi_buy`, where `supports_multi_service`) gives one number
and one upstream activation per service; here each is an `Activation` row of its own, with its own
price, hold, code and end, like any activation bought with getNumber. The rows after the first
point at it (`parent`).

Money goes through the order core (reseller.orders.engine) phase by phase: every row is opened
(its hold placed) before the upstream is asked, so the customer can pay for all of them or for
none (InsufficientFunds, nothing bought); then the first row is bought (the one upstream call),
and every other row is bought from that call's result: the same number, or the same failure (a
refusal fails them all and releases every hold; an unknown outcome makes every row unknown, for
reconciliation). The provider is the one with the cheapest total among those that sell every
service in the country and support multi-service numbers; no failover to another provider
(the rows are one purchase).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reseller.activations.purchase import ActivationOrders, PurchaseRequest, purchase_candidates
from reseller.models import Activation
from reseller.orders.engine import order_abandon, order_buy, order_open
from reseller.orders.errors import InsufficientFunds, NoNumbers, OrderError
from reseller.orders.routing import Candidate
from upstream.models import Country, Service
from upstream.providers import client_for
from upstream.providers.base import MultiRequest, ProviderError, Purchase

MAX_SERVICES = 10


@dataclass(frozen=True)
class MultiPurchaseRequest:
    customer_id: int
    wallet_id: int
    services: tuple[Service, ...]  # distinct, in the customer's order
    country: Country
    provider_slot: int | None = None
    operator: str | None = None


class _OneCall(ActivationOrders):
    """The activations adapter whose `buy` is one shared upstream call: the first row's buy makes
    it, every other row's returns its own entry of the result (or raises the same error)."""

    def __init__(self, request: MultiPurchaseRequest, candidates: list[Candidate]):
        self.multi = MultiRequest(
            services=tuple(c.service_code for c in candidates),
            country=candidates[0].country_code,
            operator=request.operator,
        )
        self.provider = candidates[0].offer.provider
        self.outcome: dict[str, Purchase] | ProviderError | None = None

    def buy(self, order, candidate: Candidate, request) -> Purchase:
        if self.outcome is None:
            try:
                bought = client_for(self.provider).multi_buy(self.multi)
            except ProviderError as exc:
                self.outcome = exc
                raise
            self.outcome = dict(zip(self.multi.services, bought, strict=True))
        if isinstance(self.outcome, ProviderError):
            raise self.outcome
        return self.outcome[candidate.service_code]

    def check(self, order, candidate: Candidate, request) -> None:
        """No immediate check: the rows are one purchase, and one read per row could settle them
        apart; an unreadable reply makes every row unknown, for reconciliation."""
        return None


def _plan(req: MultiPurchaseRequest) -> list[Candidate]:
    """One candidate per service, all of one provider: the cheapest in total of those that sell
    every service in the country and can buy them as one number."""
    per_service = []
    for service in req.services:
        found = purchase_candidates(
            PurchaseRequest(
                customer_id=req.customer_id,
                wallet_id=req.wallet_id,
                service=service,
                country=req.country,
                provider_slot=req.provider_slot,
            )
        )
        per_service.append({})
        for candidate in found:  # cheapest first: keep each provider's best offer
            per_service[-1].setdefault(candidate.offer.provider_id, candidate)
    common = set.intersection(*(set(offers) for offers in per_service)) if per_service else set()
    plans = []
    for provider_id in common:
        plan = [offers[provider_id] for offers in per_service]
        if client_for(plan[0].offer.provider).supports_multi_service:
            provider = plan[0].offer.provider
            plans.append((sum(c.quote.price for c in plan), -provider.priority, provider.slot, plan))
    if not plans:
        raise NoNumbers()
    return min(plans, key=lambda p: p[:3])[3]


def multi_service_purchase(req: MultiPurchaseRequest) -> list[Activation]:
    """One number for every service of `req`: its activations, in the services' order. Raises
    NoNumbers, UnknownProviderSlot, ProviderFailed, InsufficientFunds (nothing bought)."""
    plan = _plan(req)
    adapter = _OneCall(req, plan)
    base = PurchaseRequest(
        customer_id=req.customer_id,
        wallet_id=req.wallet_id,
        service=req.services[0],
        country=req.country,
        provider_slot=req.provider_slot,
        operator=req.operator,
    )
    requests, orders = [], []
    try:
        for candidate in plan:
            request = replace(base, service=candidate.offer.service, parent_id=orders[0].pk if orders else None)
            orders.append(order_open(adapter, request, candidate))
            requests.append(request)
    except InsufficientFunds:
        for order in orders:
            order_abandon(adapter, order, failure="no balance for every service of the multi-service number")
        raise
    first_error: OrderError | None = None
    for order, candidate, request in zip(orders, plan, requests, strict=True):
        try:
            order_buy(adapter, order, [candidate], request)
        except OrderError as exc:  # every row fails alike; the first row's error is the answer
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return orders
