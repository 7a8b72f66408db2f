"""The one authoritative API-key lookup, used by every endpoint.

It runs on every request, so it is a single hand-written, parametrised query
(customer and wallet joined by the key's digest) instead of the ORM: compiling
and instantiating two model rows cost three times the database round trip.
The full Customer is loaded only when an action asks for it.

Before the query, the abuse limits (reseller/protocol/throttle.py) may refuse the key:
over its rate, or found unknown lately (a repeated bad key costs no query).
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.db import connection

from accounts.errors import AccountBlocked
from accounts.keys import digest, is_well_formed
from accounts.models import Customer
from billing.models import LedgerAccount
from reseller.models import Activation, OrderKind
from reseller.protocol import throttle
from reseller.protocol.errors import BadKey

# Table names come from model metadata, never from input; the digest is a bound parameter.
_SQL = (
    "SELECT c.id, c.is_blocked, c.is_active, w.id, w.balance, w.held "
    f"FROM {Customer._meta.db_table} c JOIN {LedgerAccount._meta.db_table} w ON w.customer_id = c.id "
    "WHERE c.api_key_digest = %s AND NOT c.is_staff AND NOT c.is_superuser"
)
# getStatus, the most frequent call of all (clients poll every few seconds), reads its activation's
# three columns in the same statement: one round trip per poll instead of two. The LEFT JOIN keeps
# the key's row when the activation is unknown or another customer's (then its columns are NULL).
_SQL_WITH_STATUS = (
    "SELECT c.id, c.is_blocked, c.is_active, w.id, w.balance, w.held, a.id, a.state, a.code, a.previous_code "
    f"FROM {Customer._meta.db_table} c JOIN {LedgerAccount._meta.db_table} w ON w.customer_id = c.id "
    f"LEFT JOIN {Activation._meta.db_table} a ON a.id = %s AND a.customer_id = c.id AND a.kind = %s "
    "WHERE c.api_key_digest = %s AND NOT c.is_staff AND NOT c.is_superuser"
)


@dataclass(frozen=True)
class Principal:
    """Who is calling, and their wallet as read at authentication."""

    customer_id: int
    wallet_id: int
    balance: Decimal
    held: Decimal
    # Read with the key when the call is a getStatus (authenticate's `status_of`): the activation's
    # id, and its (state, code, previous_code), None when it is not this customer's activation.
    status_of: int | None = None
    status: tuple[str, str, str] | None = None

    @property
    def available(self) -> Decimal:
        """Wallet minus open holds: what the customer can spend (product decision P15)."""
        return self.balance - self.held

    @cached_property
    def customer(self) -> Customer:
        return Customer.objects.get(pk=self.customer_id)


def authenticate(api_key: str | None, ip: str = "", *, status_of: int | None = None) -> Principal:
    """Raises BadKey for a missing, malformed or unknown key, or a staff user's (staff have no
    API access: a key left from before the user was made staff answers BAD_KEY; a malformed one
    never reaches the database), AccountBlocked for a blocked or inactive
    customer, RateLimited when the key is over its rate. `ip` is the caller's
    address: unknown keys count against it. `status_of`: an activation id whose status columns are
    read in the same statement (getStatus; `Principal.status`)."""
    if not is_well_formed(api_key):
        raise BadKey()
    key_digest = digest(api_key)
    throttle.check_key(key_digest, ip)
    with connection.cursor() as cursor:
        if status_of is None:
            cursor.execute(_SQL, [key_digest])
        else:
            cursor.execute(_SQL_WITH_STATUS, [status_of, OrderKind.ACTIVATION, key_digest])
        row = cursor.fetchone()
    if row is None:
        throttle.key_unknown(key_digest, ip)
        raise BadKey()
    customer_id, is_blocked, is_active, wallet_id, balance, held = row[:6]
    if is_blocked or not is_active:
        raise AccountBlocked()
    status = None if status_of is None or row[6] is None else tuple(row[7:10])
    return Principal(
        customer_id=customer_id, wallet_id=wallet_id, balance=balance, held=held, status_of=status_of, status=status
    )
