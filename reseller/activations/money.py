"""The ledger side of an activation (docs/ledger.md, docs/activations.md).

- first SMS: capture the customer's hold into revenue, and book what the
  upstream charges us: provider float -> upstream cost;
- ended without SMS: release the hold (nothing was charged upstream, or the
  upstream confirmed the cancel);
- the upstream charged for a number the customer did not pay for (a code
  arrived after we cancelled, an orphan of a lost purchase): provider float ->
  losses, so every refund is upstream-confirmed or an explicit loss.
Each posting has an idempotency key derived from the activation, so running
any of these twice books once.
"""

from decimal import Decimal

from billing.errors import HoldAlreadyResolved
from billing.models import Hold, LedgerAccount, Transfer
from billing.services import hold_capture, hold_release, provider_float_account, system_account, transfer_post
from reseller.models import Activation


def _float(provider) -> LedgerAccount:
    return provider_float_account(provider_id=provider.pk, name=f"provider slot {provider.slot}")


def charge(activation: Activation) -> None:
    """Capture the sell price and book the upstream cost. Call inside the
    transaction that moves the activation to its first `code_received`."""
    hold = Hold.objects.get(pk=activation.hold_id)
    try:
        hold_capture(hold=hold, memo=f"activation #{activation.pk}")
    except HoldAlreadyResolved:
        if hold.status != Hold.Status.CAPTURED:
            raise
    if activation.cost_pkr:
        transfer_post(
            source=_float(activation.provider),
            destination=system_account(LedgerAccount.Kind.UPSTREAM_COST),
            amount=activation.cost_pkr,
            kind=Transfer.Kind.UPSTREAM_COST,
            key=f"activation:{activation.pk}:cost",
            memo=f"activation #{activation.pk} {activation.service.code}/{activation.country_id}",
        )


def refund(activation: Activation, *, reason: str) -> None:
    """Release the customer's hold (no-op if already released)."""
    hold_release(hold=Hold.objects.get(pk=activation.hold_id), reason=reason)


def book_loss(*, provider, amount: Decimal | None, key: str, memo: str) -> None:
    """The upstream charged us for a number no customer paid for."""
    if amount:
        transfer_post(
            source=_float(provider),
            destination=system_account(LedgerAccount.Kind.LOSSES),
            amount=amount,
            kind=Transfer.Kind.LOSS,
            key=key,
            memo=memo,
        )
