"""Another activation on the number of one that succeeded (handler_api.php checkExtraActivation,
getExtraActivation; docs/activations.md).

Only the upstream that sold the number can give it again: its client forwards the upstream's own
checkExtraActivation / getExtraActivation (`supports_extra_activation`; SMS-Activate's protocol).
Where it cannot, or the parent got no SMS, or its service or country is switched off (an
operator's switch, docs/admin-guide.md), the number is "not available" for another activation.

checkExtraActivation asks the upstream what the new activation costs; we answer our sell price
of that cost (the customer's markup rules for the parent's provider, country and service).
getExtraActivation asks the same first (the price the hold is placed for), then buys through the
order core (reseller.orders.engine) like any activation: a row of its own (`parent`: the parent
activation), a hold of its price, charged at its first code, released if it ends without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.pricing import PriceBook, Quote
from reseller.activations.purchase import ActivationOrders, PurchaseRequest, activation_for_customer
from reseller.models import Activation
from reseller.orders.engine import order_purchase
from reseller.orders.errors import OrderError, ProviderFailed
from reseller.orders.routing import Candidate
from upstream.models import Offer
from upstream.providers import base as upstream
from upstream.providers import client_for


class ExtraNotAvailable(OrderError):
    """The number cannot take another activation: its activation got no SMS, its upstream cannot
    give a number twice, or the upstream says so (RENEW_ACTIVATION_NOT_AVAILABLE)."""


class ExtraImpossible(OrderError):
    """The upstream cannot make another activation on the number now (NEW_ACTIVATION_IMPOSSIBLE)."""


class SimOffline(OrderError):
    """The number's SIM card is offline (SIM_OFFLINE)."""


# The upstream's refusals, as ours; any other error is ProviderFailed (ERROR_PROVIDER_<slot>:<raw>).
REFUSALS: dict[type[upstream.ProviderError], type[OrderError]] = {
    upstream.ExtraNotAvailable: ExtraNotAvailable,
    upstream.UnknownActivation: ExtraNotAvailable,  # the upstream no longer knows the parent
    upstream.ExtraImpossible: ExtraImpossible,
    upstream.SimOffline: SimOffline,
}


@dataclass(frozen=True)
class ExtraOffer:
    parent: Activation
    price: Decimal  # PKR, the customer's
    candidate: Candidate


def _refusal(error: upstream.ProviderError | None) -> OrderError | None:
    for kind, ours in REFUSALS.items():
        if isinstance(error, kind):
            return ours()
    return None


def extra_offer(*, customer_id: int, activation_id: int) -> ExtraOffer:
    """What another activation on the number of the customer's activation `activation_id` costs.
    OrderNotFound, ExtraNotAvailable, ExtraImpossible, SimOffline, ProviderFailed."""
    parent = activation_for_customer(customer_id=customer_id, activation_id=activation_id)
    if not (parent.service.enabled and parent.country.enabled):
        raise ExtraNotAvailable()  # switched off: nothing more is sold for it, this number included
    client = client_for(parent.provider)
    if parent.sms_at is None or not parent.upstream_id or not client.supports_extra_activation:
        raise ExtraNotAvailable()
    try:
        quoted = client.extra_check(parent.upstream_id)
    except upstream.ProviderError as exc:
        refusal = _refusal(exc)
        if refusal is not None:
            raise refusal from None
        raise ProviderFailed(parent.provider.slot, exc.raw or "ERROR") from None
    provider = parent.provider
    cost_pkr = provider.to_pkr(quoted.cost)
    quote: Quote = PriceBook.load(customer_id=customer_id).quote(
        cost_pkr=cost_pkr, provider_id=provider.pk, country_id=parent.country_id, service_id=parent.service_id
    )
    # The extra activation's offer: the parent's (provider, country, service) at the quoted cost.
    # Never saved: it is this one purchase's price, not a catalogue row.
    offer = Offer(provider=provider, country=parent.country, service=parent.service, cost=quoted.cost, stock=1)
    candidate = Candidate(offer=offer, quote=quote, service_code=parent.service.code, country_code=parent.country_id)
    return ExtraOffer(parent=parent, price=quote.price, candidate=candidate)


class _ExtraOrders(ActivationOrders):
    """The activations adapter whose upstream call is getExtraActivation on the parent's number."""

    def __init__(self, parent: Activation):
        self.parent = parent

    def buy(self, order, candidate: Candidate, request) -> upstream.Purchase:
        return client_for(candidate.offer.provider).extra_buy(self.parent.upstream_id)

    def check(self, order, candidate: Candidate, request) -> None:
        """No immediate check: the candidate carries our codes, not the upstream's (the list's
        codes could not be matched); an unreadable reply stays unknown, for reconciliation."""
        return None

    def refused(self, error: upstream.ProviderError | None) -> None:
        refusal = _refusal(error)
        if refusal is not None:
            raise refusal


def extra_purchase(*, customer_id: int, wallet_id: int, activation_id: int) -> Activation:
    """Another activation on the number of `activation_id`, bought and held like getNumber's.
    OrderNotFound, ExtraNotAvailable, ExtraImpossible, SimOffline, InsufficientFunds, ProviderFailed."""
    offered = extra_offer(customer_id=customer_id, activation_id=activation_id)
    parent = offered.parent
    request = PurchaseRequest(
        customer_id=customer_id,
        wallet_id=wallet_id,
        service=parent.service,
        country=parent.country,
        operator=parent.operator if parent.operator not in ("", "any") else None,
        parent_id=parent.pk,
    )
    return order_purchase(_ExtraOrders(parent), request, [offered.candidate])
