"""The purchase counter (`reseller_purchases_total`, docs/metrics.md): one count per order that
went through the engine (reseller.orders.engine), at the moment its outcome is final.

Two decorators on the engine's public phases, so the engine's internals stay free of it:
`opened` on `order_open` (counts only the refusals before any upstream call: no balance, a
duplicate) and `bought` on `order_buy` (counts every other outcome). A request refused before
any order exists (no offer for the service and country, a price above the customer's limit, an
unknown slot) is not a purchase: it shows in `reseller_http_requests_total` only.

Outcomes (the label `outcome`):
- `bought`: sold by the first candidate; `failed_over`: sold by a later one (earlier ones
  refused, had no numbers or errors);
- `no_numbers`: every candidate had none (or refused the price);
- `no_balance`: the wallet could not hold the price (the first, a later candidate's, or a
  price the upstream raised);
- `price_changed`: the upstream charged more than the customer can cover (the number given back);
- `unknown`: a timeout or an unreadable reply (reconciliation settles it);
- `error`: the last candidate answered with an error; `refused`: the order kind's own refusal
  (an extra activation the upstream will not sell); `duplicate`: an orderId already used.
"""

import functools

from billing.errors import InsufficientFunds
from observability import metrics
from reseller.models import OrderKind
from reseller.orders.errors import DuplicateOrder, NoNumbers, PriceChanged, ProviderFailed
from upstream.providers.base import ProviderError

KINDS = frozenset(OrderKind.values)
OUTCOMES = (
    "bought",
    "failed_over",
    "no_numbers",
    "no_balance",
    "price_changed",
    "unknown",
    "error",
    "refused",
    "duplicate",
)


def _count(kind: object, slot: object, outcome: str) -> None:
    metrics.PURCHASES.labels(kind=metrics.bounded(kind, KINDS), provider=metrics.bounded(slot), outcome=outcome).inc()


def _kind_of(adapter, order_or_request) -> object:
    kind = getattr(order_or_request, "kind", None)  # an activation's row or request; else the model's constant
    return kind if isinstance(kind, str) else getattr(adapter.model, "kind", None)


def _failure(exc: BaseException, order) -> str | None:
    """The outcome an exception out of the engine means; None: not a purchase outcome (a bug)."""
    if isinstance(exc, InsufficientFunds):
        return "no_balance"
    if isinstance(exc, NoNumbers):
        return "no_numbers"
    if isinstance(exc, PriceChanged):
        return "price_changed"
    if isinstance(exc, DuplicateOrder):
        return "duplicate"
    if isinstance(exc, ProviderFailed):
        # Closed as failed: the last candidate's error. Anything else (closed as unknown, a late
        # answer after the sweeper's close): the outcome is unknown.
        return "error" if order is not None and order.state == order.State.FAILED else "unknown"
    if isinstance(exc, ProviderError):
        return "refused"
    return "error"


def opened(order_open):
    """On `order_open(adapter, request, first)`: counts a refusal before the upstream is asked."""

    @functools.wraps(order_open)
    def observed(adapter, request, first, *args, **kwargs):
        try:
            return order_open(adapter, request, first, *args, **kwargs)
        except (InsufficientFunds, DuplicateOrder) as exc:
            _count(_kind_of(adapter, request), first.offer.provider.slot, _failure(exc, None))
            raise

    return observed


def bought(order_buy):
    """On `order_buy(adapter, order, candidates, request)`: counts the outcome of phases 2 and 3,
    labelled with the provider the order ended on."""

    @functools.wraps(order_buy)
    def observed(adapter, order, candidates, *args, **kwargs):
        slots = {c.offer.provider_id: c.offer.provider.slot for c in candidates}  # no query afterwards
        first = order.provider_id
        try:
            result = order_buy(adapter, order, candidates, *args, **kwargs)
        except Exception as exc:
            _count(_kind_of(adapter, order), slots.get(order.provider_id), _failure(exc, order))
            raise
        outcome = "bought" if result.provider_id == first else "failed_over"
        _count(_kind_of(adapter, result), slots.get(result.provider_id), outcome)
        return result

    return observed
