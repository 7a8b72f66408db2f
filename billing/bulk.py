"""Many first-code charges in a constant number of statements (the status sync, docs/ledger.md).

`charges_post` books, for each order in the list, what `reseller.orders.money.charge` books for
one: its hold captured whole into revenue and the upstream's cost moved from the provider's
float to upstream cost, with the same idempotency keys, memos and order references, inside the
caller's transaction. Five statements whatever the number (system accounts aside): one UPDATE
capturing the holds, one INSERT of every transfer, and one UPDATE per lock phase of the
balances.

It keeps the single path's rules, by the same means:
- a hold is captured only while open and unexpired (`WHERE status = 'open' AND expires_at > now`,
  re-checked by PostgreSQL after waiting for a concurrent writer), so of a capture and a
  concurrent release exactly one wins;
- rows are locked in the single path's order: holds, then the wallets and revenue (ascending id),
  then the provider floats and upstream cost (ascending id), each set by one
  `SELECT … ORDER BY id FOR UPDATE`, so a bulk charge and any single-row write never deadlock;
- an idempotency key already booked with the same accounts, amount and kind is a replay (its
  balances are not moved again); one booked otherwise is a conflict; a hold's capture key is
  never a replay (the hold was open until this statement);
- a balance change is conditional exactly as `services._apply`'s (available money, the columns'
  range).
Anything it cannot book as the single path would (a hold no longer open, a conflict, a refused
balance) raises `BulkRefused` before the caller's transaction commits: the caller rolls back and
books the orders one by one, where each case gets its own exception as before.

PostgreSQL only (arrays, `FOR UPDATE` in a CTE, `ON CONFLICT`): callers use the single path on
any other database (the embedded SQLite run).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from billing.models import Hold, LedgerAccount, OrderRef, Transfer
from billing.money import MAX_AMOUNT, ZERO
from billing.services import system_account


class BulkRefused(Exception):
    """Some charge of the batch cannot be booked as the single path would: roll back, go one by one."""


@dataclass(frozen=True)
class Charge:
    """One order's first-code charge: capture `hold_id` whole, book `cost` (PKR, may be None or 0:
    nothing booked) from the provider float account `float_id` under the idempotency key
    `cost_key` (the order's, `reseller.orders.money.key(order, "cost")`)."""

    hold_id: int
    order: OrderRef
    memo: str
    cost: Decimal | None = None
    float_id: int | None = None
    cost_key: str = ""
    cost_memo: str = ""


def charges_post(charges: list[Charge]) -> int:
    """Book every charge (see the module's docstring) inside the caller's transaction. Returns the
    number of transfers inserted (replays not counted). Raises BulkRefused."""
    if not charges:
        return 0
    now = timezone.now()
    holds = _capture(sorted({c.hold_id for c in charges}), now)
    if len(holds) != len(charges):
        raise BulkRefused(f"{len(charges) - len(holds)} of {len(charges)} holds are not open (or repeated)")
    revenue = system_account(LedgerAccount.Kind.REVENUE).pk
    transfers = []  # (source, destination, amount, kind, key, hold, memo, order kind, order pk)
    for c in charges:
        account_id, amount, hold_memo, order_kind, order_pk = holds[c.hold_id]
        transfers.append(
            (account_id, revenue, amount, Transfer.Kind.CAPTURE.value, f"hold:{c.hold_id}:capture", c.hold_id)
            + (c.memo or hold_memo, order_kind, order_pk)
        )
    costs = [c for c in charges if c.cost]
    if costs:
        upstream_cost = system_account(LedgerAccount.Kind.UPSTREAM_COST).pk
        for c in costs:
            if c.float_id is None or not c.cost_key:
                raise BulkRefused(f"order {c.order} has a cost and no provider float account or key")
            transfers.append(
                (c.float_id, upstream_cost, c.cost, Transfer.Kind.UPSTREAM_COST.value, c.cost_key, None)
                + (c.cost_memo or c.memo, c.order.kind, c.order.pk)
            )
    booked = _insert(transfers, now)
    if any(t[3] == Transfer.Kind.CAPTURE and t[4] not in booked for t in transfers):
        # The hold was open until this statement, so its capture cannot have been booked before:
        # a key already there is not a replay, and taking it as one would leave the hold's money held.
        raise BulkRefused("a capture of an open hold is already booked")
    first, second = defaultdict(lambda: [ZERO, ZERO]), defaultdict(lambda: [ZERO, ZERO])
    for source, destination, amount, kind, key, hold_id, *_ in transfers:
        if key not in booked:
            continue  # a replay: booked before, its balances moved then
        if kind == Transfer.Kind.CAPTURE:  # wallet -> revenue, the hold's whole amount leaves `held`
            first[source][0] -= amount
            first[source][1] -= holds[hold_id][1]
            first[destination][0] += amount
        else:  # provider float -> upstream cost
            second[source][0] -= amount
            second[destination][0] += amount
    _apply_many(first)  # the wallets and revenue first, as hold_capture does,
    _apply_many(second)  # then the floats and upstream cost, as the cost's transfer_post does
    return len(booked)


def _capture(hold_ids: list[int], now) -> dict[int, tuple]:
    """Capture every still-open, unexpired hold of `hold_ids` whole, locking them in id order.
    Returns {hold id: (wallet id, amount, memo, order kind, order pk)} of those captured."""
    table = Hold._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH locked AS MATERIALIZED (
                SELECT id FROM {table}
                WHERE id = ANY(%s::bigint[]) AND status = 'open' AND expires_at > %s
                ORDER BY id FOR UPDATE
            )
            UPDATE {table} h SET status = 'captured', captured_amount = h.amount, resolved_at = %s
            FROM locked WHERE h.id = locked.id AND h.status = 'open'
            RETURNING h.id, h.account_id, h.amount, h.memo, h.order_kind, h.order_pk
            """,  # noqa: S608 - table names only; every value is a parameter
            [hold_ids, now, now],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


TRANSFER_COLUMNS = (
    "source_id",
    "destination_id",
    "amount",
    "kind",
    "idempotency_key",
    "hold_id",
    "memo",
    "order_kind",
    "order_pk",
)
TRANSFER_TYPES = ("bigint", "bigint", "numeric", "text", "text", "bigint", "text", "text", "bigint")


def _insert(transfers: list[tuple], now) -> set[str]:
    """Insert the transfers in one statement; a key already booked is kept as it was. Returns the
    keys inserted; raises BulkRefused when a key already booked names other accounts, amount or
    kind (the single path's IdempotencyConflict)."""
    table = Transfer._meta.db_table
    columns = ", ".join(TRANSFER_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in TRANSFER_TYPES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} ({columns}, actor_id, actor_label, created_at)
            SELECT {columns}, NULL, '', %s FROM unnest({arrays}) AS t({columns})
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING idempotency_key
            """,  # noqa: S608 - table names only; every value is a parameter
            [now, *(list(column) for column in zip(*transfers, strict=True))],
        )
        booked = {row[0] for row in cursor.fetchall()}
    replayed = {t[4]: t for t in transfers if t[4] not in booked}
    if replayed:
        existing = Transfer.objects.filter(idempotency_key__in=list(replayed)).values_list(
            "idempotency_key", "source_id", "destination_id", "amount", "kind"
        )
        for key, *shape in existing:
            source, destination, amount, kind = replayed[key][:4]
            if tuple(shape) != (source, destination, amount, kind):
                raise BulkRefused(f"idempotency key {key!r} was used for another transfer")
    return booked


def _apply_many(deltas: dict[int, list[Decimal]]) -> None:
    """`services._apply` for many accounts in one statement: each account's (balance, held) delta,
    the rows locked in ascending id order, each change as conditional as there. BulkRefused if
    any account refuses."""
    if not deltas:
        return
    ids = sorted(deltas)
    table = LedgerAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH d AS (SELECT * FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[]) AS t(id, db, dh)),
            locked AS MATERIALIZED (
                SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE
            )
            UPDATE {table} a SET balance = a.balance + d.db, held = a.held + d.dh
            FROM d, locked
            WHERE a.id = d.id AND a.id = locked.id
              AND (d.db - d.dh >= 0 OR a.allow_negative OR a.balance >= a.held + (d.dh - d.db))
              AND a.balance + d.db BETWEEN %s AND %s
              AND (d.dh <= 0 OR a.held + d.dh <= %s)
            RETURNING a.id
            """,  # noqa: S608 - table names only; every value is a parameter
            [ids, [deltas[i][0] for i in ids], [deltas[i][1] for i in ids], ids, -MAX_AMOUNT, MAX_AMOUNT, MAX_AMOUNT],
        )
        changed = {row[0] for row in cursor.fetchall()}
    if len(changed) != len(ids):
        raise BulkRefused(f"accounts {sorted(set(ids) - changed)} refused the change")
