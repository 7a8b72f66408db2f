"""The purchase engine: how any order kind buys its number (docs/orders.md).

Three short phases per order, each one transaction:

1. the order row (state `requesting`) and a hold of its sell price (one statement on PostgreSQL
   for kinds that `build` their row: billing.services.wallet_hold_with_order);
2. the upstream call, with no transaction, row lock or database connection held;
3. the outcome: the number recorded (state `active`, the hold resized if the upstream charged
   more than quoted; one conditional UPDATE, no transaction, when nothing else moves), or,
   when no candidate is left, the hold released and the order ended.

Candidates (reseller.orders.routing) are tried in order. On NO_NUMBERS, a price refusal or a
provider error the next candidate is tried, and retargeting the order at it (the previous
hold released, a hold of the new price placed, the row's provider and price changed) is one
transaction too. A timeout or an unreadable reply is an unknown outcome and ends the request
(never two live numbers for one order): the hold is released and reconciliation
(reseller.activations.reconcile) looks for the number upstream. An unreadable
reply (HTML, an HTTP 5xx, a mangled success; not a timeout) first gets one immediate check where
the adapter can make one (`OrderAdapter.check`: the active list read after the reply): its number
found, the order proceeds as bought; certainly not sold (only from an upstream done with the
request, `upstream_done`: not behind a gateway's 502/504), the next candidate is tried; anything
else is the unknown outcome above.

The whole chain runs against one deadline (PURCHASE_DEADLINE_SECONDS, well inside the web
worker's timeout): every upstream call gets only what is left of it, and no further candidate
is tried once less than PURCHASE_MIN_ATTEMPT_SECONDS is left. A purchase interrupted anyway
(its process killed) is closed by the expiry sweeper as an unknown outcome.

What differs between order kinds is an `OrderAdapter`: how the row is created, which upstream
call buys, what phase 3 records. Everything else (money, failover, attempts, unknown outcomes)
is here, once.
"""

import logging
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.errors import InsufficientFunds
from billing.models import Hold, LedgerAccount
from billing.pricing import PriceBook
from billing.services import hold_release, hold_resize, wallet_hold, wallet_hold_with_order
from reseller.orders import metrics, money
from reseller.orders.attempts import Outcome, attempt_record
from reseller.orders.errors import DuplicateOrder, NoNumbers, PriceChanged, ProviderFailed
from reseller.orders.routing import FIXED_PRICE, Candidate
from upstream.providers import client_for, http
from upstream.providers.base import (
    BadResponse,
    MaxPriceRefused,
    ProviderError,
    ProviderTimeout,
    Purchase,
    SetStatus,
    error_summary,
    upstream_done,
)
from upstream.providers.base import NoNumbers as UpstreamNoNumbers

log = logging.getLogger(__name__)
# A hold outlives its order by this margin: the order's own expiry settles it first.
HOLD_MARGIN = timedelta(seconds=600)


@dataclass(frozen=True)
class Check:
    """What the immediate check after an unreadable reply to a purchase proved: `bought`, the
    number the upstream sold for this order; or `absent`, nothing was sold; or neither (`why`)."""

    bought: Purchase | None = None
    absent: bool = False
    why: str = ""


class OrderAdapter(ABC):
    """What one order kind tells the engine. Its model has the order columns the engine
    moves: state (with State.REQUESTING, ACTIVE, FAILED, UNKNOWN), provider, price, cost,
    cost_pkr, hold, upstream_id, phone, failure, ended_at, upstream_pending (with
    Upstream.CANCEL and Upstream.RECONCILE), created_at; and `kind`."""

    model: type
    pricing_product: str = ""  # the markup rules' product ("rental": rentals' own rules first)

    @abstractmethod
    def lifetime_seconds(self, order) -> int:
        """How long a bought order lives (its hold lives HOLD_MARGIN longer)."""

    @abstractmethod
    def create(self, request, first: Candidate):
        """Insert the order row for `first` (inside phase 1's transaction)."""

    def build(self, request, first: Candidate):
        """The order row for `first`, unsaved (its `hold` not set), where the kind can be written
        with its hold in one statement (billing.services.wallet_hold_with_order); None: `create`
        in a transaction instead."""
        return None

    def is_duplicate(self, request) -> bool:
        """After an IntegrityError in `create`: whether the request repeats an existing order."""
        return False

    @abstractmethod
    def buy(self, order, candidate: Candidate, request) -> Purchase:
        """The upstream call of phase 2 (no transaction is open)."""

    @abstractmethod
    def recorded(self, order, bought: Purchase, now) -> dict:
        """The kind's own columns phase 3 sets on success, besides state, upstream id,
        phone, cost and expiry."""

    def check(self, order, candidate: Candidate, request) -> Check | None:
        """After `buy` got an unreadable reply from an upstream done with the request: one look
        upstream (no transaction is open) at whether it sold this order a number. None: the kind
        or protocol cannot look (the outcome stays unknown). A `Check` must be sound: `bought`
        only for a number provably this order's, `absent` only when the look proves nothing
        was sold (failover follows: a wrong `absent` is two live numbers for one order)."""
        return None

    def bought_fields(self, bought) -> dict:
        """The columns naming what was bought (an activation's phone; an e-mail's address)."""
        return {"phone": bought.phone}

    def cancel_bought(self, order, candidate: Candidate, upstream_id: str) -> None:
        """Give a bought number back upstream (the price changed beyond the customer's balance)."""
        client_for(candidate.offer.provider).set_status(upstream_id, SetStatus.CANCEL)

    def retargeted(self, order, candidate: Candidate) -> dict:
        """The kind's own columns that follow the order to the next candidate."""
        return {}

    def refused(self, error: ProviderError | None) -> None:
        """After every candidate refused and the order was closed: raise the kind's own error for
        the last refusal (`error`), or return for the engine's NoNumbers / ProviderFailed."""
        return None

    def settle(self, order) -> None:
        """Money the kind moves when its number is recorded, inside phase 3's transaction
        (paid-up-front kinds capture here; activations are charged at their first code)."""
        return None

    def quote_again(self, order, candidate: Candidate, cost_pkr: Decimal) -> Decimal:
        """The sell price for an actual cost above the quote (decisions: price change). A fixed
        price stays fixed: the extra cost comes out of our margin."""
        if candidate.quote.explanation == FIXED_PRICE:
            return candidate.quote.price
        offer = candidate.offer
        return (
            PriceBook.load(customer_id=order.customer_id)
            .quote(
                cost_pkr=cost_pkr,
                provider_id=offer.provider_id,
                country_id=offer.country_id,
                service_id=offer.service_id,
                product=self.pricing_product,
            )
            .price
        )


def order_purchase(adapter: OrderAdapter, request, candidates: list[Candidate]):
    """Buy for `request` from the first candidate that sells. `request` has customer_id and
    wallet_id. Raises NoNumbers, ProviderFailed, PriceChanged, InsufficientFunds,
    DuplicateOrder; returns the order, `active`."""
    return order_buy(adapter, order_open(adapter, request, candidates[0]), candidates, request)


# Phases apart, for a purchase of several orders in one upstream call (a multi-service number:
# reseller.activations.multi): every order opened (held) before the call, then each bought.


@metrics.opened
def order_open(adapter: OrderAdapter, request, first: Candidate):
    """Phase 1 alone: the order row (`requesting`) and the hold of its price. InsufficientFunds,
    DuplicateOrder."""
    return _open(adapter, request, first)


@metrics.bought
def order_buy(adapter: OrderAdapter, order, candidates: list[Candidate], request):
    """Phases 2 and 3 for an opened order, as `order_purchase` does them."""
    with http.deadline(settings.PURCHASE_DEADLINE_SECONDS):
        return _buy_first(adapter, order, candidates, request)


def order_abandon(adapter: OrderAdapter, order, *, failure: str) -> None:
    """An opened order that will not be bought (nothing was asked upstream): its hold released,
    the order failed."""
    _close(adapter, order, adapter.model.State.FAILED, failure=failure)


# --- phase 1 ---------------------------------------------------------------------------------


def _hold(adapter: OrderAdapter, wallet_id: int, order, amount: Decimal, attempt: int) -> Hold:
    return wallet_hold(
        wallet=LedgerAccount(pk=wallet_id),  # only its id is used: no query
        amount=amount,
        key=money.key(order, f"hold:{attempt}"),
        expires_at=timezone.now() + timedelta(seconds=adapter.lifetime_seconds(order)) + HOLD_MARGIN,
        memo=f"{order.kind} #{order.pk}",
        order=money.ref(order),
    ).hold


def _open(adapter: OrderAdapter, request, first: Candidate):
    """The order row and the hold of its price: one statement where the kind and the database
    allow it (the wallet row locked for that statement only), else one transaction."""
    try:
        order = adapter.build(request, first) if connection.vendor == "postgresql" else None
        if order is not None:
            # Inside a caller's transaction (a test's) a failed statement must not abort it: a savepoint.
            with transaction.atomic() if connection.in_atomic_block else _no_block():
                wallet_hold_with_order(
                    wallet_id=request.wallet_id,
                    amount=first.quote.price,
                    order=order,
                    kind=order.kind,
                    key_suffix="hold:0",
                    expires_at=timezone.now() + timedelta(seconds=adapter.lifetime_seconds(order)) + HOLD_MARGIN,
                )
            return order
        with transaction.atomic():
            order = adapter.create(request, first)
            order.hold = _hold(adapter, request.wallet_id, order, first.quote.price, attempt=0)
            adapter.model.objects.filter(pk=order.pk).update(hold=order.hold)
    except IntegrityError:
        if adapter.is_duplicate(request):
            raise DuplicateOrder() from None
        raise
    return order


@contextmanager
def _no_block():
    yield


_UPDATES: dict[tuple, tuple[str, list]] = {}


def _update_if(model, pk: int, state: str, fields: dict) -> int:
    """`model.objects.filter(pk=pk, state=state).update(**fields)` (plain values of plain columns),
    as one statement whose SQL is worked out once per model and set of columns: the ORM's update
    compiler cost more CPU than the rest of the purchase's writes. The values are converted as the
    ORM converts them (`get_db_prep_save`). Returns the number of rows changed."""
    shape = (model, connection.vendor, tuple(fields))
    known = _UPDATES.get(shape)
    if known is None:
        opts, quote = model._meta, connection.ops.quote_name
        columns = [opts.get_field(name) for name in fields]
        if any(not f.concrete or f.is_relation for f in columns):
            return model.objects.filter(pk=pk, state=state).update(**fields)
        sets = ", ".join(f"{quote(f.column)} = %s" for f in columns)
        where = f"{quote(opts.pk.column)} = %s AND {quote(opts.get_field('state').column)} = %s"
        known = _UPDATES[shape] = (f"UPDATE {quote(opts.db_table)} SET {sets} WHERE {where}", columns)  # noqa: S608
    sql, columns = known
    params = [f.get_db_prep_save(fields[f.name], connection) for f in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, pk, state])
        return cursor.rowcount


# --- failover --------------------------------------------------------------------------------


def _buy_first(adapter: OrderAdapter, order, candidates: list[Candidate], request):
    State = adapter.model.State
    last_error: ProviderError | None = None
    for attempt, candidate in enumerate(candidates):
        if attempt:
            left = http.time_left()
            if left is not None and left < settings.PURCHASE_MIN_ATTEMPT_SECONDS:
                log.info("%s %s: purchase deadline reached after %d attempts", order.kind, order.pk, attempt)
                break
            try:
                _retarget(adapter, order, candidate, attempt)
            except InsufficientFunds:
                _close(adapter, order, State.FAILED, failure="no balance for the next provider's price")
                raise
        try:
            bought = _call(adapter, order, candidate, request)
        except _NotSold as unsold:
            log.info(
                "%s %s: provider slot %s sold nothing (checked)", order.kind, order.pk, candidate.offer.provider.slot
            )
            last_error = unsold.error
            continue
        except (ProviderTimeout, BadResponse) as exc:
            # No answer, or one we cannot read (an HTML error page, a proxy's 502, a mangled
            # success): the upstream may have sold us a number. Unknown outcome, stop here.
            _close(adapter, order, State.UNKNOWN, failure=f"unknown outcome: {type(exc).__name__}")
            raise ProviderFailed(
                candidate.offer.provider.slot, exc.raw if isinstance(exc, BadResponse) and exc.raw else "TIMEOUT"
            ) from None
        except ProviderError as exc:
            log.info("%s %s: provider slot %s refused: %r", order.kind, order.pk, candidate.offer.provider.slot, exc)
            last_error = exc
            continue
        return _record(adapter, order, candidate, bought)
    _close(adapter, order, State.FAILED, failure=error_summary(last_error) if last_error else "no provider error")
    adapter.refused(last_error)
    if isinstance(last_error, UpstreamNoNumbers | MaxPriceRefused):
        raise NoNumbers()
    raise ProviderFailed(order.provider.slot, (last_error.raw if last_error else "") or "ERROR")


def _retarget(adapter: OrderAdapter, order, candidate: Candidate, attempt: int) -> None:
    """One transaction: release the previous hold, hold the next candidate's price, point
    the row at it. InsufficientFunds leaves everything as it was."""
    with transaction.atomic():
        previous = Hold.objects.get(pk=order.hold_id)
        hold_release(hold=previous, reason=f"provider slot {order.provider.slot} sold nothing; next provider")
        hold = _hold(adapter, previous.account_id, order, candidate.quote.price, attempt)
        fields = {
            "provider": candidate.offer.provider,
            "price": candidate.quote.price,
            "cost": candidate.offer.cost,
            "cost_pkr": candidate.quote.cost_pkr,
            "hold": hold,
            **adapter.retargeted(order, candidate),
        }
        adapter.model.objects.filter(pk=order.pk).update(**fields)
    for name, value in fields.items():
        setattr(order, name, value)


# --- phase 2 ---------------------------------------------------------------------------------


def _release_connection() -> None:
    """Give the database connection back for the upstream call (seconds, sometimes): with
    hundreds of purchases in flight, holding one connection each would exhaust PostgreSQL.
    Only outside a transaction (never inside a test's or a caller's)."""
    if not connection.in_atomic_block:
        connection.close()


class _NotSold(Exception):
    """The upstream's reply was unreadable and the check proved it sold nothing: try the next."""

    def __init__(self, error: ProviderError):
        self.error = error


def _call(adapter: OrderAdapter, order, candidate: Candidate, request) -> Purchase:
    _release_connection()
    started = time.monotonic()
    try:
        bought = adapter.buy(order, candidate, request)
    except ProviderError as exc:
        finished = time.monotonic()
        # Any unreadable reply is looked up at once; only one from an upstream done with the request
        # can prove an absence (a gateway's 502/504 may front a purchase still running there).
        check = adapter.check(order, candidate, request) if isinstance(exc, BadResponse) else None
        if check is not None and check.absent and not upstream_done(exc):
            check = Check(why="not listed, but a gateway's reply: the purchase may still be running upstream")
        attempt_record(
            order=order,
            provider=candidate.offer.provider,
            price=candidate.quote.price,
            started=started,
            finished=finished,
            error=exc,
            checked=_checked(check),
        )
        if check is not None and check.bought is not None:
            log.warning(
                "%s %s: unreadable reply from slot %s; its number %s found upstream",
                order.kind,
                order.pk,
                candidate.offer.provider.slot,
                check.bought.upstream_id,
            )
            return check.bought
        if check is not None and check.absent:
            raise _NotSold(exc) from None
        raise
    attempt_record(
        order=order, provider=candidate.offer.provider, price=candidate.quote.price, started=started, error=None
    )
    return bought


def _checked(check: Check | None) -> tuple[str, str] | None:
    """The attempt's outcome and note for what the immediate check proved."""
    if check is None:
        return None
    if check.bought is not None:
        return Outcome.BOUGHT, "sold: its number found upstream"
    if check.absent:
        return Outcome.ERROR, "not sold"
    return Outcome.UNKNOWN, f"still unknown: {check.why or 'unknown'}"


# --- phase 3 ---------------------------------------------------------------------------------


class _LateAnswer(Exception):
    pass


class _CannotCover(Exception):
    def __init__(self, price: Decimal):
        self.price = price


def _record(adapter: OrderAdapter, order, candidate: Candidate, bought: Purchase):
    """One transaction: the number, its cost and expiry, and (if the upstream charged more
    than quoted) the hold grown to the new price."""
    State = adapter.model.State
    provider = candidate.offer.provider
    cost = bought.cost if bought.cost is not None else candidate.offer.cost
    cost_pkr = provider.to_pkr(cost)
    new_price = adapter.quote_again(order, candidate, cost_pkr) if cost_pkr > candidate.quote.cost_pkr else None
    now = timezone.now()
    fields = {
        "state": State.ACTIVE,
        **adapter.bought_fields(bought),
        "upstream_id": bought.upstream_id,
        "cost": cost,
        "cost_pkr": cost_pkr,
        "expires_at": now + timedelta(seconds=adapter.lifetime_seconds(order)),
        **adapter.recorded(order, bought, now),
    }
    # Nothing to move but the row: one conditional UPDATE needs no transaction of its own.
    alone = (new_price is None or new_price <= order.price) and type(adapter).settle is OrderAdapter.settle
    try:
        with _no_block() if alone else transaction.atomic():
            if new_price is not None and new_price > order.price:
                try:
                    fields["hold"] = hold_resize(
                        hold=Hold.objects.get(pk=order.hold_id), amount=new_price, key=money.key(order, "reprice")
                    )
                except InsufficientFunds:
                    raise _CannotCover(new_price) from None
                fields["price"] = new_price
            if not _update_if(adapter.model, order.pk, State.REQUESTING, fields):
                raise _LateAnswer()
            for name, value in fields.items():
                setattr(order, name, value)
            adapter.settle(order)
    except _LateAnswer:
        # The answer came so late that the sweeper already closed the order as unknown: the
        # number is not the customer's (their hold is released, if the sweeper has not yet).
        # Keep its id, so reconciliation cancels it by id.
        with transaction.atomic():
            money.refund(order, reason="purchase outcome unknown (late answer)")
            adapter.model.objects.filter(pk=order.pk, state=State.UNKNOWN, upstream_id="").update(
                upstream_id=bought.upstream_id, **adapter.bought_fields(bought)
            )
        raise ProviderFailed(provider.slot, "TIMEOUT") from None
    except _CannotCover:
        _price_changed(adapter, order, candidate, bought, cost_pkr)
    return order


def _price_changed(adapter: OrderAdapter, order, candidate: Candidate, bought: Purchase, cost_pkr: Decimal):
    """The upstream charged more than quoted (it could not be capped) and the customer cannot
    cover the new price: cancel the number upstream, then one transaction ends the order
    and releases the hold; the customer gets ERROR_PRICE_CHANGE (decisions: money #16)."""
    Upstream = adapter.model.Upstream
    pending = ""
    try:
        adapter.cancel_bought(order, candidate, bought.upstream_id)
    except ProviderError as exc:
        # The number may stay billed upstream: the reconciliation of cancelled orders books it.
        log.warning("%s %s: cancel after price change failed: %r", order.kind, order.pk, exc)
        pending = Upstream.CANCEL
    _close(
        adapter,
        order,
        adapter.model.State.FAILED,
        failure=f"price changed to {cost_pkr} PKR cost",
        upstream_id=bought.upstream_id,
        cost_pkr=cost_pkr,
        upstream_pending=pending,
    )
    raise PriceChanged()


# --- ending a purchase that sold nothing -------------------------------------------------------


def _close(adapter: OrderAdapter, order, state: str, *, failure: str, **fields) -> None:
    """One transaction: the hold released and the order ended in `state` (failed, or unknown:
    then marked for reconciliation, which settles whether the upstream sold a number, a loss
    if it charged us)."""
    Model = adapter.model
    if state == Model.State.UNKNOWN:
        fields["upstream_pending"] = Model.Upstream.RECONCILE
    with transaction.atomic():
        money.refund(order, reason=f"purchase {state}: {failure}"[:200])
        Model.objects.filter(pk=order.pk, state=Model.State.REQUESTING).update(
            state=state, failure=failure[:2000], ended_at=timezone.now(), **fields
        )
    order.refresh_from_db()


# --- purchases interrupted ---------------------------------------------------------------------


def purchases_interrupted_close(model, *, now, batch_size: int = 500) -> int:
    """Orders of `model` still `requesting` well past the purchase deadline (their process died
    mid-purchase): each becomes an unknown outcome, its hold released and the row marked for
    reconciliation, in one transaction (one conditional UPDATE: an order another actor moved
    no longer matches). Returns how many were closed."""
    State, Pending = model.State, model.Upstream
    stuck_before = now - timedelta(seconds=settings.PURCHASE_DEADLINE_SECONDS + settings.PURCHASE_STUCK_GRACE_SECONDS)
    closed = 0
    for order in model.objects.filter(state=State.REQUESTING, created_at__lte=stuck_before)[:batch_size]:
        with transaction.atomic():
            money.refund(order, reason="purchase interrupted")
            closed += model.objects.filter(pk=order.pk, state=State.REQUESTING).update(
                state=State.UNKNOWN, failure="purchase interrupted", ended_at=now, upstream_pending=Pending.RECONCILE
            )
    return closed
