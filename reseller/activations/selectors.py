"""Reads of activations for the wire layer."""

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


def activation_status(*, customer_id: int, activation_id: int, kind: str = OrderKind.ACTIVATION) -> StatusRow:
    """OrderNotFound for an unknown id and for another customer's (indistinguishable)."""
    with connection.cursor() as cursor:
        cursor.execute(_STATUS_SQL, [activation_id, customer_id, kind])
        row = cursor.fetchone()
    if row is None:
        raise OrderNotFound()
    return StatusRow(*row)
