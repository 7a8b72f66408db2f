"""Reads of activations (and cheap orders, rows of the same table) for the wire layer."""

from dataclasses import dataclass

from django.db import connection

from reseller.models import Activation, OrderKind
from reseller.orders.errors import OrderNotFound

# getStatus is the most frequent call of all (clients poll every few seconds): one
# small parametrised query for the three columns it needs. The table name comes
# from model metadata, the values are bound parameters.
_STATUS_SQL = (
    f"SELECT state, code, previous_code FROM {Activation._meta.db_table}"
    " WHERE id = %s AND customer_id = %s AND kind = %s"
)


@dataclass(frozen=True)
class StatusRow:
    state: str
    code: str
    previous_code: str


def activation_status(
    *, customer_id: int, activation_id: int, kind: str = OrderKind.ACTIVATION, read=None
) -> StatusRow:
    """OrderNotFound for an unknown id and for another customer's (indistinguishable). `read`: the
    (activation id, (state, code, previous_code) or None) already read with the key
    (reseller/protocol/auth.py), used when it is this id's and an activation's."""
    if read is not None and read[0] == activation_id and kind == OrderKind.ACTIVATION:
        if read[1] is None:
            raise OrderNotFound()
        return StatusRow(*read[1])
    with connection.cursor() as cursor:
        cursor.execute(_STATUS_SQL, [activation_id, customer_id, kind])
        row = cursor.fetchone()
    if row is None:
        raise OrderNotFound()
    return StatusRow(*row)


def activations_live(*, customer_id: int) -> list[Activation]:
    """The customer's activations that can still get an SMS, oldest first (getActiveActivations)."""
    return list(
        Activation.objects.filter(
            customer_id=customer_id,
            kind=OrderKind.ACTIVATION,
            state__in=(Activation.State.ACTIVE, Activation.State.CODE_RECEIVED, Activation.State.WAITING_RETRY),
        )
        .select_related("service", "country")
        .order_by("id")
    )


def activations_history(*, customer_id: int, start, end, offset: int, limit: int) -> list[Activation]:
    """The customer's activations created in [start, end] that were handed out, newest first."""
    State = Activation.State
    return list(
        Activation.objects.filter(
            customer_id=customer_id, kind=OrderKind.ACTIVATION, created_at__gte=start, created_at__lte=end
        )
        .exclude(state__in=(State.REQUESTING, State.FAILED, State.UNKNOWN))
        .order_by("-id")[offset : offset + limit]
    )
