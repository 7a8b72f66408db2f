"""Cheap numbers (cheap_handler.php): 15-minute activations sold from an admin's cheap servers.

A cheap order is a row of `Activation` with kind `cheap`: it is bought by the order core
(failover, unknown outcomes, reconciliation), its code arrives through the same status sync,
and it expires through the same sweeper, after CHEAP_LIFETIME_SECONDS (900). Cancel (after
CANCEL_GRACE_SECONDS, before any code) refunds in full. See docs/cheap.md.
"""

from reseller.activations.lifecycle import Change, activation_cancel, activation_finish
from reseller.activations.purchase import PurchaseRequest, activation_for_customer, activation_purchase
from reseller.cheap.selectors import cheap_service
from reseller.models import Activation, CheapServer, OrderKind
from reseller.orders.errors import NoNumbers, UnknownProviderSlot
from upstream.models import Service


def cheap_buy(*, customer_id: int, wallet_id: int, server: CheapServer, service: Service | None = None) -> Activation:
    """Buy one cheap number from `server` (`service`: one of the server's; default its first).
    Raises InsufficientFunds, NoNumbers, NoCheapServices, ProviderFailed, PriceChanged."""
    try:
        return activation_purchase(
            PurchaseRequest(
                customer_id=customer_id,
                wallet_id=wallet_id,
                service=cheap_service(server, service=service),
                country=server.country,
                provider_slot=server.provider.slot if server.provider_id else None,
                kind=OrderKind.CHEAP,
                cheap_server_id=server.pk,
                fixed_price=server.price,
            )
        )
    except UnknownProviderSlot:
        raise NoNumbers() from None  # the server's provider is disabled: nothing to sell


def cheap_order(*, customer_id: int, order_id: int) -> Activation:
    """The customer's cheap order; OrderNotFound for anyone else's or an activation's id."""
    return activation_for_customer(customer_id=customer_id, activation_id=order_id, kind=OrderKind.CHEAP)


def cheap_finish(*, order: Activation) -> Change:
    """Status 3 or 6: complete an order whose code came. NoCodeYet before it; OrderAlreadyEnded after the end."""
    return activation_finish(activation=order)


def cheap_cancel(*, order: Activation) -> Change:
    """Status 8: cancelled and refunded in full (CANCELLED); an order whose code came ends
    charged instead (FINISHED). TooEarlyToCancel within the first two minutes."""
    return activation_cancel(activation=order)
