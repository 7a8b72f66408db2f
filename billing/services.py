"""Writes on the ledger. Read docs/ledger.md first.

Concurrency model: every write is one short transaction. Balances change only
through conditional `UPDATE ... SET balance = balance + x WHERE ...` statements,
issued in ascending account id order (so two transfers never deadlock), and a
spend succeeds only if the row still has enough available money when the
UPDATE runs (PostgreSQL re-checks the WHERE after waiting for a concurrent
writer). No row lock is held across anything slow: an upstream call happens
between two of these transactions, never inside one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.errors import AccountBlocked, StaffAccount
from accounts.models import Customer
from billing.errors import BalanceOutOfRange, HoldAlreadyResolved, HoldExpired, IdempotencyConflict, InsufficientFunds
from billing.markup import markup_check_targets, markup_set  # noqa: F401 - the markup writes, re-exported
from billing.models import Hold, LedgerAccount, OrderRef, Transfer
from billing.money import MAX_AMOUNT, ZERO, parse_amount

SYSTEM_KINDS = {
    LedgerAccount.Kind.CASH,
    LedgerAccount.Kind.ADJUSTMENTS,
    LedgerAccount.Kind.REVENUE,
    LedgerAccount.Kind.REFUNDS,
    LedgerAccount.Kind.LOSSES,
    LedgerAccount.Kind.UPSTREAM_COST,
}


@dataclass(frozen=True)
class TransferOutcome:
    transfer: Transfer
    replayed: bool  # True when the idempotency key had already been applied


@dataclass(frozen=True)
class HoldOutcome:
    hold: Hold
    replayed: bool


@dataclass(frozen=True)
class ReleaseOutcome:
    hold: Hold
    already_released: bool


# --- accounts ------------------------------------------------------------------


def system_account(kind: str) -> LedgerAccount:
    """The single ledger account of a system kind (cash, revenue, ...), created on first use."""
    if kind not in SYSTEM_KINDS:
        raise ValueError(f"not a system account kind: {kind}")
    account, _ = LedgerAccount.objects.get_or_create(
        code=kind, defaults={"kind": kind, "name": LedgerAccount.Kind(kind).label, "allow_negative": True}
    )
    return account


def provider_float_account(*, provider_id: int, name: str = "") -> LedgerAccount:
    """The float account of one upstream provider: what we prepaid it, minus what it charged us."""
    account, _ = LedgerAccount.objects.get_or_create(
        code=f"provider:{provider_id}",
        defaults={"kind": LedgerAccount.Kind.PROVIDER_FLOAT, "name": name, "allow_negative": True},
    )
    return account


def wallet_create(*, customer: Customer) -> LedgerAccount:
    """The customer's wallet, created if missing. Staff users (is_staff or is_superuser) get none."""
    if customer.is_staff_account:
        raise StaffAccount(f"{customer.username} is staff: staff users have no wallet")
    account, _ = LedgerAccount.objects.get_or_create(
        customer=customer,
        defaults={
            "code": f"wallet:{customer.pk}",
            "kind": LedgerAccount.Kind.WALLET,
            "name": f"wallet of {customer.username}",
        },
    )
    return account


# --- balances ------------------------------------------------------------------


def _apply(deltas: dict[int, tuple[Decimal, Decimal]]) -> None:
    """Apply (balance delta, held delta) per account id, in id order.

    A change that lowers an account's available money is conditional: it
    matches no row, and raises InsufficientFunds, unless the account may go
    negative or still has enough available when the UPDATE runs. A change that
    would carry a balance or the held sum past what the columns hold (MAX_AMOUNT,
    either sign) matches no row either and raises BalanceOutOfRange: PostgreSQL
    would fail the statement ("numeric field overflow"), SQLite would store a float.
    """
    for account_id in sorted(deltas):
        d_balance, d_held = deltas[account_id]
        qs = LedgerAccount.objects.filter(pk=account_id)
        if d_balance - d_held < 0:
            qs = qs.filter(Q(allow_negative=True) | Q(balance__gte=F("held") + (d_held - d_balance)))
        if d_balance > 0:
            qs = qs.filter(balance__lte=MAX_AMOUNT - d_balance)
        elif d_balance < 0:
            qs = qs.filter(balance__gte=-MAX_AMOUNT - d_balance)
        if d_held > 0:
            qs = qs.filter(held__lte=MAX_AMOUNT - d_held)
        if not qs.update(balance=F("balance") + d_balance, held=F("held") + d_held):
            _refused(account_id, d_balance, d_held)


def _refused(account_id: int, d_balance: Decimal, d_held: Decimal) -> None:
    """Why the conditional UPDATE of `_apply` matched no row: out of range, else not enough money."""
    account = LedgerAccount.objects.filter(pk=account_id).only("code", "balance", "held").first()
    if account is not None and (
        abs(account.balance + d_balance) > MAX_AMOUNT or abs(account.held + d_held) > MAX_AMOUNT
    ):
        raise BalanceOutOfRange(
            f"the balance of account {account.code} would pass the ledger's limit of {MAX_AMOUNT} PKR; nothing booked"
        )
    raise InsufficientFunds(f"available balance of account {account_id} is too low")


def _replay_transfer(existing: Transfer, *, source, destination, amount, kind) -> TransferOutcome:
    same = (existing.source_id, existing.destination_id, existing.amount, existing.kind) == (
        source.pk,
        destination.pk,
        amount,
        kind,
    )
    if not same:
        raise IdempotencyConflict(f"idempotency key {existing.idempotency_key!r} was used for another transfer")
    return TransferOutcome(existing, replayed=True)


def transfer_post(
    *,
    source: LedgerAccount,
    destination: LedgerAccount,
    amount: Decimal,
    kind: str,
    key: str,
    memo: str = "",
    actor: Customer | None = None,
    actor_label: str = "",
    hold: Hold | None = None,
    order: OrderRef | None = None,
) -> TransferOutcome:
    """Post one double-entry transfer, idempotently by `key`.

    Replaying a key with the same accounts, amount and kind returns the
    original transfer; reusing it for anything else raises IdempotencyConflict.
    `order` names the order the money moves for (reports group by it).
    """
    amount = parse_amount(amount)
    # Insert first: a replayed key fails the unique index and is answered from the original.
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                source=source,
                destination=destination,
                amount=amount,
                kind=kind,
                idempotency_key=key,
                memo=memo,
                actor=actor,
                actor_label=actor_label,
                hold=hold,
                **_order_columns(order),
            )
            _apply({source.pk: (-amount, ZERO), destination.pk: (amount, ZERO)})
    except IntegrityError:
        # A concurrent request with the same key won the insert.
        existing = Transfer.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _replay_transfer(existing, source=source, destination=destination, amount=amount, kind=kind)
    return TransferOutcome(transfer, replayed=False)


def _order_columns(order: OrderRef | None) -> dict:
    return {"order_kind": order.kind, "order_pk": order.pk} if order is not None else {}


def wallet_topup(
    *,
    wallet: LedgerAccount,
    amount: Decimal | str,
    key: str,
    memo: str = "",
    actor: Customer | None = None,
    actor_label: str = "",
) -> TransferOutcome:
    """Money paid in by a customer: cash -> wallet."""
    return transfer_post(
        source=system_account(LedgerAccount.Kind.CASH),
        destination=wallet,
        amount=parse_amount(amount),
        kind=Transfer.Kind.TOPUP,
        key=key,
        memo=memo,
        actor=actor,
        actor_label=actor_label,
    )


def wallet_adjust(
    *,
    wallet: LedgerAccount,
    amount: Decimal | str,
    reason: str,
    key: str,
    actor: Customer | None = None,
    actor_label: str = "",
) -> TransferOutcome:
    """Admin correction with a reason: a positive amount credits the wallet,
    a negative one debits it (never below its available balance)."""
    if not reason or not reason.strip():
        raise ValueError("an adjustment needs a reason")
    amount = parse_amount(amount, allow_negative=True)
    adjustments = system_account(LedgerAccount.Kind.ADJUSTMENTS)
    source, destination = (adjustments, wallet) if amount > 0 else (wallet, adjustments)
    return transfer_post(
        source=source,
        destination=destination,
        amount=abs(amount),
        kind=Transfer.Kind.ADJUSTMENT,
        key=key,
        memo=reason.strip(),
        actor=actor,
        actor_label=actor_label,
    )


# --- holds ---------------------------------------------------------------------


def wallet_hold(
    *,
    wallet: LedgerAccount,
    amount: Decimal | str,
    key: str,
    expires_at: datetime | None = None,
    memo: str = "",
    order: OrderRef | None = None,
) -> HoldOutcome:
    """Reserve `amount` of the wallet's available balance until `expires_at`.

    Raises InsufficientFunds if available < amount at the moment of the
    update, AccountBlocked if the owner is blocked. Replaying `key` returns
    the existing hold.
    """
    amount = parse_amount(amount)
    if expires_at is None:
        expires_at = timezone.now() + timedelta(seconds=settings.HOLD_DEFAULT_TTL_SECONDS)
    try:  # insert first: a replayed key fails the unique index and is answered from the original
        with transaction.atomic():
            owner = Customer.objects.filter(wallet=wallet.pk).values("is_blocked", "is_active").first()
            if owner is None or owner["is_blocked"] or not owner["is_active"]:
                raise AccountBlocked("the wallet's owner is blocked")
            hold = Hold.objects.create(
                account=wallet,
                amount=amount,
                idempotency_key=key,
                expires_at=expires_at,
                memo=memo,
                **_order_columns(order),
            )
            _apply({wallet.pk: (ZERO, amount)})
    except IntegrityError:
        existing = Hold.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _replay_hold(existing, wallet=wallet, amount=amount)
    return HoldOutcome(hold, replayed=False)


def _replay_hold(existing: Hold, *, wallet: LedgerAccount, amount: Decimal) -> HoldOutcome:
    if (existing.account_id, existing.amount) != (wallet.pk, amount):
        raise IdempotencyConflict(f"idempotency key {existing.idempotency_key!r} was used for another hold")
    return HoldOutcome(existing, replayed=True)


def _why_not_open(hold_id: int, now: datetime) -> Exception:
    hold = Hold.objects.get(pk=hold_id)
    if hold.status != Hold.Status.OPEN:
        return HoldAlreadyResolved(hold.status)
    return HoldExpired(f"hold #{hold_id} expired at {hold.expires_at.isoformat()}")


@transaction.atomic
def hold_capture(
    *,
    hold: Hold,
    amount: Decimal | str | None = None,
    destination: LedgerAccount | None = None,
    memo: str = "",
) -> Transfer:
    """Charge `amount` (default: all) of an open, unexpired hold; the remainder
    returns to the wallet's available balance. Exactly one of any number of
    concurrent capture/release calls on a hold wins; the others raise
    HoldAlreadyResolved (or HoldExpired after the expiry)."""
    captured = hold.amount if amount is None else parse_amount(amount)
    if captured > hold.amount:
        raise ValueError(f"cannot capture {captured} from a hold of {hold.amount}")
    now = timezone.now()
    won = Hold.objects.filter(pk=hold.pk, status=Hold.Status.OPEN, expires_at__gt=now).update(
        status=Hold.Status.CAPTURED, captured_amount=captured, resolved_at=now
    )
    if not won:
        raise _why_not_open(hold.pk, now)
    hold.refresh_from_db()
    destination = destination or system_account(LedgerAccount.Kind.REVENUE)
    transfer = Transfer.objects.create(
        source_id=hold.account_id,
        destination=destination,
        amount=captured,
        kind=Transfer.Kind.CAPTURE,
        idempotency_key=f"hold:{hold.pk}:capture",
        hold=hold,
        memo=memo or hold.memo,
        **_order_columns(hold.order),  # the capture belongs to the hold's order
    )
    _apply({hold.account_id: (-captured, -hold.amount), destination.pk: (captured, ZERO)})
    return transfer


@transaction.atomic
def hold_release(*, hold: Hold, reason: str = "") -> ReleaseOutcome:
    """Return an open hold's amount to the wallet. Releasing a released hold
    is a no-op reported as `already_released`; releasing a captured one raises
    HoldAlreadyResolved. Allowed after expiry (that is what the sweeper does)."""
    now = timezone.now()
    won = Hold.objects.filter(pk=hold.pk, status=Hold.Status.OPEN).update(
        status=Hold.Status.RELEASED, resolved_at=now, release_reason=reason[:200]
    )
    if won:
        _apply({hold.account_id: (ZERO, -hold.amount)})
    hold.refresh_from_db()
    if not won and hold.status == Hold.Status.CAPTURED:
        raise HoldAlreadyResolved(hold.status)
    return ReleaseOutcome(hold, already_released=not won)


@transaction.atomic
def hold_resize(*, hold: Hold, amount: Decimal | str, key: str) -> Hold:
    """Replace an open hold by one of `amount` on the same wallet, atomically:
    either the new hold is placed and the old one released, or nothing changes
    (InsufficientFunds). Used when an upstream charged more than quoted."""
    amount = parse_amount(amount)
    if not hold_release(hold=hold, reason=f"resized to {amount}").already_released:
        return wallet_hold(
            wallet=LedgerAccount.objects.get(pk=hold.account_id),
            amount=amount,
            key=key,
            expires_at=hold.expires_at,
            memo=hold.memo,
            order=hold.order,
        ).hold
    raise HoldAlreadyResolved(Hold.Status.RELEASED)


def holds_release_expired(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Release every open hold past its expiry. Safe to run from several
    workers at once (rows another sweeper holds are skipped). Returns the count."""
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            batch = list(
                Hold.objects.select_for_update(skip_locked=True)
                .filter(status=Hold.Status.OPEN, expires_at__lte=now)
                .order_by("expires_at")[:batch_size]
            )
            for hold in batch:
                if not hold_release(hold=hold, reason="expired").already_released:
                    released += 1
        if len(batch) < batch_size:
            return released


# --- one statement: the hold and the order that it holds for ----------------------------------------


_SKELETONS: dict[tuple, tuple] = {}


def _insert_select(obj, overrides: dict[str, tuple[str, list]]) -> tuple[str, str, list]:
    """(`INSERT INTO <table> (<columns>)`, the SELECT list, its parameters) for an unsaved model
    instance: every concrete column from the instance (its auto_now_add fields set now), except
    the ones in `overrides` (column -> an SQL expression and its parameters). Each value is cast to
    its column's type. The statement's shape is worked out once per model and overridden columns."""
    from django.db import connection

    shape = (type(obj), connection.vendor, tuple((c, e) for c, (e, _) in overrides.items()))
    skeleton = _SKELETONS.get(shape)
    if skeleton is None:
        columns, exprs, fields = [], [], []
        for field in obj._meta.concrete_fields:
            if field.column in overrides:
                columns.append(field.column)
                exprs.append(overrides[field.column][0])
                fields.append(field.column)  # its parameters come from `overrides`
            elif not field.primary_key:
                columns.append(field.column)
                exprs.append(f"%s::{field.cast_db_type(connection)}")
                fields.append(field)
        quote = connection.ops.quote_name
        head = f"INSERT INTO {quote(obj._meta.db_table)} ({', '.join(quote(c) for c in columns)})"
        skeleton = _SKELETONS[shape] = (head, ", ".join(exprs), fields)
    head, exprs, fields = skeleton
    params: list = []
    for field in fields:
        if isinstance(field, str):
            params.extend(overrides[field][1])
        else:
            params.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    return head, exprs, params


def wallet_hold_with_order(
    *,
    wallet_id: int,
    amount: Decimal,
    order,
    kind: str,
    key_suffix: str,
    expires_at: datetime,
    hold_field: str = "hold",
) -> Hold:
    """In ONE statement (PostgreSQL): the wallet's held sum raised by `amount` (if its owner is
    active and unblocked and the money is available: the conditional UPDATE of `wallet_hold`),
    a hold of it, and `order` (an unsaved model instance of any table with a sequence-backed id)
    inserted pointing at the hold through `hold_field`. The hold is the order's as `wallet_hold`
    would make it: key `<kind>:<id>:<key_suffix>`, memo `<kind> #<id>`, order reference
    (kind, id). The wallet row is locked for this one statement only; either all three rows are
    written or none. Sets `order.pk` and returns the hold. Raises AccountBlocked,
    InsufficientFunds, BalanceOutOfRange (nothing written), IntegrityError from the order's own
    constraints (nothing written)."""
    from django.db import connection

    amount = parse_amount(amount)
    hold = Hold(
        account_id=wallet_id,
        amount=amount,
        idempotency_key="",
        expires_at=expires_at,
        memo="",
        order_kind=kind,
        order_pk=0,
    )
    quote = connection.ops.quote_name
    table = order._meta.db_table
    hold_head, hold_exprs, hold_params = _insert_select(
        hold,
        {
            "account_id": ("w.id", []),
            "idempotency_key": ("%s::text || o.id || %s::text", [f"{kind}:", f":{key_suffix}"]),
            "memo": ("%s::text || o.id", [f"{kind} #"]),
            "order_pk": ("o.id", []),
        },
    )
    hold_column = order._meta.get_field(hold_field).column
    order_head, order_exprs, order_params = _insert_select(
        order, {order._meta.pk.column: ("o.id", []), hold_column: ("h.id", [])}
    )
    accounts, customers = LedgerAccount._meta.db_table, Customer._meta.db_table
    # Table and column names come from model metadata, never from input; values are bound parameters.
    sql = (
        f"WITH o AS (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS id), "  # noqa: S608
        f"w AS (UPDATE {quote(accounts)} a SET held = a.held + %s "
        "WHERE a.id = %s AND a.held <= %s AND (a.allow_negative OR a.balance >= a.held + %s) "
        f"AND EXISTS (SELECT 1 FROM {quote(customers)} c "
        "WHERE c.id = a.customer_id AND NOT c.is_blocked AND c.is_active) RETURNING a.id), "
        f"h AS ({hold_head} SELECT {hold_exprs} FROM w, o RETURNING id), "
        f"r AS ({order_head} SELECT {order_exprs} FROM o, h RETURNING id) "
        "SELECT (SELECT id FROM o), (SELECT id FROM h), (SELECT id FROM r)"
    )
    params = [
        table,
        order._meta.pk.column,
        amount,
        wallet_id,
        MAX_AMOUNT - amount,
        amount,
        *hold_params,
        *order_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        order_id, hold_id, inserted = cursor.fetchone()
    if inserted is None:
        owner = Customer.objects.filter(wallet=wallet_id).values("is_blocked", "is_active").first()
        if owner is None or owner["is_blocked"] or not owner["is_active"]:
            raise AccountBlocked("the wallet's owner is blocked")
        _refused(wallet_id, ZERO, amount)
    hold.pk = hold_id
    hold.idempotency_key = f"{kind}:{order_id}:{key_suffix}"
    hold.memo = f"{kind} #{order_id}"
    hold.order_pk = order_id
    hold._state.adding = False
    order.pk = order_id
    setattr(order, hold_field, hold)
    order._state.adding = False
    return hold
