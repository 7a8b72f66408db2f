"""State changes of a bought activation: SMS from upstream, the customer's
setStatus, expiry. Each change is one conditional UPDATE (`WHERE state IN
(...)`) inside the transaction that moves the money, so of any number of
concurrent actors (ten cancels, an arriving SMS, the sweeper) exactly one
changes a given state and books its money; the others see the new state.
"""

import enum
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from billing.bulk import BulkRefused, Charge, charges_post
from billing.models import OrderRef
from reseller.activations.enqueue import after_commit
from reseller.models import Activation
from reseller.notify.deliveries import NewCode, activation_sms_queued, activations_sms_queued
from reseller.orders import money
from reseller.orders.errors import NoCodeYet, OrderAlreadyEnded, TooEarlyToCancel
from upstream.health import provider_record_sms, provider_record_sms_many
from upstream.models import Provider, Service
from upstream.providers.base import StatusResult, UpstreamState

log = logging.getLogger(__name__)

State = Activation.State
Pending = Activation.Upstream
CODE_STATES = (State.CODE_RECEIVED, State.WAITING_RETRY)
_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{3,4}[- ]?\d{3,4}|\d{4,8})(?![0-9A-Za-z])")


def extract_code(code: str | None, text: str | None) -> str:
    """The code only (product decision P13): letters and digits, no ':' or spaces.
    Taken from the upstream's code, else found in the text."""
    source = code or ""
    if not source and text:
        found = _CODE_IN_TEXT.search(text)
        source = found.group(1) if found else ""
    return re.sub(r"[^0-9A-Za-z]", "", source)[:64]


def _move(activation: Activation, from_states, **fields) -> bool:
    won = Activation.objects.filter(pk=activation.pk, state__in=from_states).update(**fields) == 1
    activation.refresh_from_db()
    return won


def _end_refunded(activation: Activation, *, state: str, reason: str, from_states=(State.ACTIVE,), **fields) -> bool:
    """End an activation that got no SMS and give the customer their money back, in one transaction."""
    with transaction.atomic():
        won = _move(activation, from_states, state=state, ended_at=timezone.now(), **fields)
        if won:
            money.refund(activation, reason=reason)
            if State.ACTIVE in from_states:  # a number that never got its SMS
                provider_record_sms(provider_id=activation.provider_id, received=False)
    return won


def _finish_charged(activation: Activation) -> bool:
    """End an activation whose SMS came (already charged); tell the upstream it is finished."""
    return _move(
        activation,
        CODE_STATES,
        state=State.FINISHED,
        ended_at=timezone.now(),
        upstream_pending=Pending.FINISH,
        upstream_attempts=0,
    )


# --- from upstream ----------------------------------------------------------------------


def activation_apply_upstream(*, activation: Activation, result: StatusResult) -> None:
    """Apply what the upstream reports for this activation (status sync, webhook)."""
    now = timezone.now()
    if result.state in (UpstreamState.CODE,):
        code = extract_code(result.code, result.text)
        if not code:
            return
        if activation.state == State.ACTIVE or (
            activation.state == State.WAITING_RETRY and code != activation.previous_code
        ):
            first = activation.state == State.ACTIVE
            with transaction.atomic():
                moved = _move(
                    activation,
                    (State.ACTIVE, State.WAITING_RETRY) if not first else (State.ACTIVE,),
                    state=State.CODE_RECEIVED,
                    code=code,
                    sms_text=(result.text or "")[:4000],
                    sms_at=now,
                    synced_at=now,
                )
                if moved and first:
                    money.charge(
                        activation,
                        memo=f"{activation.kind} #{activation.pk}",
                        cost_memo=f"{activation.kind} #{activation.pk} "
                        f"{activation.service.code}/{activation.country_id}",
                    )
                if moved:  # the customer's webhook, committed with the code (reseller/notify)
                    activation_sms_queued(activation=activation)
            if moved and first:  # the number got its SMS (outside the code's transaction)
                provider_record_sms(provider_id=activation.provider_id, received=True)
        elif activation.state in (State.CANCELLED, State.EXPIRED) and activation.upstream_pending == Pending.CANCEL:
            # A code arrived after we refunded the customer: the upstream bills us.
            with transaction.atomic():
                money.order_loss(
                    activation, memo=f"{activation.kind} #{activation.pk}: SMS arrived after the customer's refund"
                )
                Activation.objects.filter(pk=activation.pk).update(upstream_pending=Pending.FINISH)
    elif result.state in (UpstreamState.CANCELLED, UpstreamState.FINISHED):
        if activation.state == State.ACTIVE:
            # Ended upstream without an SMS: nothing is charged there, refund here.
            _end_refunded(activation, state=State.CANCELLED, reason="cancelled upstream", synced_at=now)
        elif activation.state in CODE_STATES:
            _move(activation, CODE_STATES, state=State.FINISHED, ended_at=now, synced_at=now)
        elif activation.upstream_pending == Pending.CANCEL:
            Activation.objects.filter(pk=activation.pk, upstream_pending=Pending.CANCEL).update(upstream_pending="")


# --- many codes at once (the status sync) -------------------------------------------------

CODES_PER_BATCH = 500  # one transaction each: its row locks are held for a few milliseconds
DEADLOCK = "40P01"  # PostgreSQL's deadlock_detected


@dataclass(frozen=True)
class FoundCode:
    """A code the status sync saw for a row it read as waiting: `first` when the row was
    `active` (its first SMS: it charges), else `waiting_retry` (another SMS after status 3)."""

    pk: int
    code: str  # extract_code's
    text: str
    first: bool


def activations_record_codes(*, provider: Provider, found: list[FoundCode]) -> None:
    """What `activation_apply_upstream` does for each code, for many rows of one provider in a
    constant number of statements per batch of CODES_PER_BATCH: one UPDATE moves every row still
    waiting (`WHERE state = 'active'`, or `waiting_retry` with another code, re-checked after a
    concurrent writer, the rows locked in id order) and returns the winners; their holds are
    captured and the upstream's cost booked (`billing.bulk.charges_post`), their webhooks made
    (`activations_sms_queued`), all in one transaction; then one UPDATE of the provider's SMS
    rate. A row a customer cancelled meanwhile is not moved (its cancel won). A batch the bulk
    path refuses (a hold no longer open, a key booked otherwise...) is rolled back and applied one
    by one, where each case ends as it always did. Any database but PostgreSQL: one by one."""
    if connection.vendor != "postgresql":
        _codes_one_by_one(found)
        return
    for start in range(0, len(found), CODES_PER_BATCH):
        batch = found[start : start + CODES_PER_BATCH]
        try:
            charged = _codes_batch(provider, batch)
        except (BulkRefused, IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) != DEADLOCK:
                raise  # the database is gone or refused: the cycle fails, the next beat retries
            # A deadlock: the batch locks several wallets (in id order), as does the hold sweeper
            # (in expiry order); one by one locks one wallet at a time and cannot deadlock with it.
            log.warning("provider %s: %d codes applied one by one (%s)", provider.slot, len(batch), exc)
            _codes_one_by_one(batch)
            continue
        # The numbers got their SMS (outside the codes' transaction, as one by one).
        provider_record_sms_many(provider_id=provider.pk, received=True, count=charged)


def _codes_one_by_one(found: list[FoundCode]) -> None:
    rows = Activation.objects.select_related("provider", "service").in_bulk([f.pk for f in found])
    for f in found:
        if f.pk in rows:
            result = StatusResult(state=UpstreamState.CODE, code=f.code, text=f.text)
            activation_apply_upstream(activation=rows[f.pk], result=result)


def _codes_batch(provider: Provider, batch: list[FoundCode]) -> int:
    """One transaction: the moves, the charges of the first codes, the webhooks. Returns how many
    were first codes."""
    now = timezone.now()
    with transaction.atomic():
        moved = _move_found(provider, batch, now)
        firsts = [r for r in moved if r[1] == State.ACTIVE]
        if any(r[4] is None for r in firsts):
            raise BulkRefused("an activation without a hold")
        float_id = money.provider_float(provider).pk if any(r[5] for r in firsts) else None
        charges_post(
            [
                Charge(
                    hold_id=hold_id,
                    order=OrderRef(kind, pk),
                    memo=f"{kind} #{pk}",
                    cost=cost_pkr,
                    float_id=float_id,
                    cost_key=f"{kind}:{pk}:cost",  # money.key(order, "cost")
                    cost_memo=f"{kind} #{pk} {service}/{country_id}",
                )
                for pk, _was, kind, _customer, hold_id, cost_pkr, country_id, service, _code, _text in firsts
            ]
        )
        activations_sms_queued(
            codes=[
                NewCode(pk, kind, customer_id, service, country_id, code, text, now)
                for pk, _was, kind, customer_id, _hold, _cost, country_id, service, code, text in moved
            ]
        )
    return len(firsts)


def _move_found(provider: Provider, batch: list[FoundCode], now) -> list[tuple]:
    """The state changes of a batch in one UPDATE; returns the rows moved as
    (id, state before, kind, customer id, hold id, cost PKR, country id, service code, code, text)."""
    table, services = Activation._meta.db_table, Service._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH v AS (
                SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::boolean[])
                    AS t(id, code, sms_text, first)
            ),
            locked AS MATERIALIZED (
                SELECT a.id, a.state FROM {table} a JOIN v ON v.id = a.id
                WHERE a.provider_id = %s AND (
                    (v.first AND a.state = %s) OR (NOT v.first AND a.state = %s AND a.previous_code <> v.code)
                )
                ORDER BY a.id FOR UPDATE OF a
            )
            UPDATE {table} a SET state = %s, code = v.code, sms_text = v.sms_text, sms_at = %s, synced_at = %s
            FROM v, locked, {services} s
            WHERE a.id = v.id AND a.id = locked.id AND a.state = locked.state AND s.id = a.service_id
            RETURNING a.id, locked.state, a.kind, a.customer_id, a.hold_id, a.cost_pkr, a.country_id, s.code,
                v.code, v.sms_text
            """,  # noqa: S608 - table names only; every value is a parameter
            [
                [f.pk for f in batch],
                [f.code for f in batch],
                [f.text[:4000] for f in batch],
                [f.first for f in batch],
                provider.pk,
                State.ACTIVE.value,
                State.WAITING_RETRY.value,
                State.CODE_RECEIVED.value,
                now,
                now,
            ],
        )
        return cursor.fetchall()


# --- from the customer ------------------------------------------------------------------


class Change(enum.StrEnum):
    """What a customer's status change did (the wire layer words it per endpoint)."""

    READY = "ready"  # the customer is ready for the SMS (status 1)
    RETRY = "retry"  # waiting for another SMS on the same number
    FINISHED = "finished"  # ended charged (its code was delivered)
    CANCELLED = "cancelled"  # ended without a code, refunded in full


def _decide(activation: Activation, once) -> Change:
    """Run `once` until it wins or raises: a lost race re-reads the state and decides again."""
    for _ in range(3):
        change = once(activation)
        if change is not None:
            return change
    raise OrderAlreadyEnded(activation.state)


def _live(activation: Activation) -> str:
    if activation.state in Activation.ENDED_STATES:
        raise OrderAlreadyEnded(activation.state)
    return activation.state


def activation_ready(*, activation: Activation) -> Change:
    """Status 1: forwarded upstream where the number still waits for its SMS."""
    if _live(activation) == State.ACTIVE and Activation.objects.filter(pk=activation.pk, upstream_pending="").update(
        upstream_pending=Pending.READY
    ):
        activation.upstream_pending = Pending.READY
    _queue_forward(activation)
    return Change.READY


def activation_request_another(*, activation: Activation) -> Change:
    """Status 3 (handler_api.php): wait for another SMS on the same number."""

    def once(a: Activation) -> Change | None:
        state = _live(a)
        if state in (State.REQUESTING, State.ACTIVE):
            raise NoCodeYet()
        if state == State.WAITING_RETRY:
            return Change.RETRY
        won = _move(
            a,
            (State.CODE_RECEIVED,),
            state=State.WAITING_RETRY,
            previous_code=a.code,
            upstream_pending=Pending.RETRY,
            upstream_attempts=0,
        )
        return Change.RETRY if won else None

    return _queued(activation, _decide(activation, once))


def activation_finish(*, activation: Activation) -> Change:
    """Complete an order whose code came (already charged)."""

    def once(a: Activation) -> Change | None:
        if _live(a) in (State.REQUESTING, State.ACTIVE):
            raise NoCodeYet()
        return Change.FINISHED if _finish_charged(a) else None

    return _queued(activation, _decide(activation, once))


def activation_cancel(*, activation: Activation) -> Change:
    """Cancel: without a code, refunded in full (not within the first CANCEL_GRACE_SECONDS);
    with one, the order ends charged (its code was delivered: documented decision)."""

    def once(a: Activation) -> Change | None:
        state = _live(a)
        if state in CODE_STATES:
            return Change.FINISHED if _finish_charged(a) else None
        started = a.activated_at or a.created_at
        if state == State.REQUESTING or timezone.now() - started < timedelta(seconds=settings.CANCEL_GRACE_SECONDS):
            raise TooEarlyToCancel()
        won = _end_refunded(
            a,
            state=State.CANCELLED,
            reason="cancelled by customer",
            upstream_pending=Pending.CANCEL,
            upstream_attempts=0,
        )
        return Change.CANCELLED if won else None

    return _queued(activation, _decide(activation, once))


def _queued(activation: Activation, change: Change) -> Change:
    _queue_forward(activation)
    return change


def _queue_forward(activation: Activation) -> None:
    """A status the upstream must learn is sent by a task once this commits (always sent:
    a queued copy may be running with the previous mark; the task is idempotent)."""
    if activation.upstream_pending:
        from reseller.tasks import forward_queued_mark, forward_status

        after_commit(forward_status, activation.pk, once=forward_queued_mark(activation.pk), replace=True)


# --- expiry --------------------------------------------------------------------------------


def activation_expire(*, activation: Activation) -> bool:
    """End an activation past its lifetime: without SMS it is cancelled and
    refunded (`expired`); with one it is finished (already charged). A purchase
    stuck in `requesting` (its process died) becomes an unknown outcome."""
    if activation.state == State.ACTIVE:
        return _end_refunded(
            activation,
            state=State.EXPIRED,
            reason="expired without SMS",
            upstream_pending=Pending.CANCEL,
            upstream_attempts=0,
        )
    if activation.state in CODE_STATES:
        return _finish_charged(activation)
    if activation.state == State.REQUESTING:
        return _end_refunded(
            activation,
            state=State.UNKNOWN,
            reason="purchase interrupted",
            from_states=(State.REQUESTING,),
            failure="purchase interrupted",
            upstream_pending=Pending.RECONCILE,
        )
    return False


def activations_expire_due(*, now=None, batch_size: int = 200) -> int:
    """The expiry sweeper: every live activation past its expiry, and every purchase
    still `requesting` well after its deadline (its process died mid-purchase)."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.PURCHASE_DEADLINE_SECONDS + settings.PURCHASE_STUCK_GRACE_SECONDS)
    due = Activation.objects.filter(
        state__in=(State.ACTIVE, *CODE_STATES), expires_at__lte=now
    ) | Activation.objects.filter(state=State.REQUESTING, created_at__lte=stuck_before)
    done = 0
    for activation in due.select_related("provider", "service").order_by("expires_at")[:batch_size]:
        done += activation_expire(activation=activation)
    return done
