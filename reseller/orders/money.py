"""The ledger side of any order (docs/ledger.md, docs/orders.md), by order reference.

- first code: capture the customer's hold into revenue, and book what the upstream charges us:
  provider float -> upstream cost;
- ended without a code: release the hold (nothing was charged upstream, or the upstream
  confirmed the cancel);
- the upstream charged for a number the customer did not pay for (a code arrived after we
  cancelled, an orphan of a lost purchase): provider float -> losses, so every refund is
  upstream-confirmed or an explicit loss.
Every hold and transfer names its order (`billing.models.OrderRef`: kind and id), and each
posting has an idempotency key derived from the order, so running any of these twice books once.
"""

from decimal import Decimal

from billing.errors import HoldAlreadyResolved
from billing.models import Hold, LedgerAccount, OrderRef, Transfer
from billing.services import hold_capture, hold_release, provider_float_account, system_account, transfer_post


def ref(order) -> OrderRef:
    """The reference of an order row: every order model has `kind` (a field or a property)."""
    return OrderRef(order.kind, order.pk)


def key(order, what: str) -> str:
    """The idempotency key of one posting of an order: `<kind>:<id>:<what>`."""
    return f"{order.kind}:{order.pk}:{what}"


def provider_float(provider) -> LedgerAccount:
    return provider_float_account(provider_id=provider.pk, name=f"provider slot {provider.slot}")


def charge(order, *, memo: str, cost_memo: str = "") -> None:
    """Capture the sell price and book the upstream cost. Call inside the transaction that
    moves the order to its first code."""
    hold = Hold.objects.get(pk=order.hold_id)
    try:
        hold_capture(hold=hold, memo=memo)
    except HoldAlreadyResolved:
        if hold.status != Hold.Status.CAPTURED:
            raise
    if order.cost_pkr:
        transfer_post(
            source=provider_float(order.provider),
            destination=system_account(LedgerAccount.Kind.UPSTREAM_COST),
            amount=order.cost_pkr,
            kind=Transfer.Kind.UPSTREAM_COST,
            key=key(order, "cost"),
            memo=cost_memo or memo,
            order=ref(order),
        )


def refund(order, *, reason: str) -> None:
    """Release the customer's hold (no-op if already released)."""
    hold_release(hold=Hold.objects.get(pk=order.hold_id), reason=reason)


def refund_paid(order, *, memo: str) -> None:
    """Give a paid order's price back (refunds -> wallet) and book the upstream's refund to us
    (upstream cost -> provider float), once each: for orders paid up front (rentals), whose
    cancel the upstream refunded."""
    wallet_id = Hold.objects.values_list("account_id", flat=True).get(pk=order.hold_id)
    transfer_post(
        source=system_account(LedgerAccount.Kind.REFUNDS),
        destination=LedgerAccount(pk=wallet_id),
        amount=order.price,
        kind=Transfer.Kind.REFUND,
        key=key(order, "refund"),
        memo=memo,
        order=ref(order),
    )
    if order.cost_pkr:
        transfer_post(
            source=system_account(LedgerAccount.Kind.UPSTREAM_COST),
            destination=provider_float(order.provider),
            amount=order.cost_pkr,
            kind=Transfer.Kind.UPSTREAM_REFUND,
            key=key(order, "upstream-refund"),
            memo=memo,
            order=ref(order),
        )


def book_loss(*, provider, amount: Decimal | None, key: str, memo: str, order: OrderRef | None = None) -> None:
    """The upstream charged us for a number no customer paid for (`order`: the order it
    belonged to, where known)."""
    if amount:
        transfer_post(
            source=provider_float(provider),
            destination=system_account(LedgerAccount.Kind.LOSSES),
            amount=amount,
            kind=Transfer.Kind.LOSS,
            key=key,
            memo=memo,
            order=order,
        )


def order_loss(order, *, memo: str) -> None:
    """The upstream bills this order's number and the customer was refunded: one key per
    order, so every path that finds it books it once."""
    book_loss(provider=order.provider, amount=order.cost_pkr, key=key(order, "loss"), memo=memo, order=ref(order))
