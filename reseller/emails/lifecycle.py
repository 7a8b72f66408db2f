"""An e-mail order's life after the purchase (docs/emails.md): letters from the upstream, the
customer's cancel, expiry, and unknown outcomes.

Money: the purchase holds the price; the first letter charges it (capture + the upstream's cost);
an order that ends without a letter is refunded in full, and only once the upstream cannot bill
us for it (it confirmed the cancel, or reports the order over), or with its cost booked as our
loss. Each change is one conditional UPDATE inside the transaction that moves its money, so of
any number of concurrent actors (a cancel, the letter sync, the expiry sweeper) exactly one ends
an order. The database is the source of truth: the sweepers find whatever a lost task left.
"""

import hashlib
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from reseller.activations.lifecycle import extract_code
from reseller.models import EmailLetter, EmailOrder
from reseller.orders import money
from reseller.orders.engine import purchases_interrupted_close
from reseller.orders.errors import OrderAlreadyEnded, ProviderFailed
from upstream.providers import client_for
from upstream.providers.base import (
    EmailEnded,
    EmailState,
    EmailStatus,
    ProviderError,
    UnknownActivation,
)
from upstream.providers.base import EmailLetter as UpstreamLetter

log = logging.getLogger(__name__)
State = EmailOrder.State
Pending = EmailOrder.Upstream


def letter_id_of(letter: UpstreamLetter) -> str:
    """The letter's id at the upstream, or a digest of what it says."""
    if letter.letter_id:
        return letter.letter_id[:100]
    text = f"{letter.received_at}|{letter.sender}|{letter.subject}|{letter.text}"
    return "d" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _store(order: EmailOrder, letters) -> int:
    """Keep the letters not stored yet; returns how many are new."""
    rows = [
        EmailLetter(
            order=order,
            letter_id=letter_id_of(letter),
            sender=(letter.sender or "")[:254],
            subject=(letter.subject or "")[:300],
            text=letter.text or "",
            code=extract_code(letter.code, letter.text)[:64],
            received_at=letter.received_at,
        )
        for letter in letters
    ]
    before = EmailLetter.objects.filter(order=order).count()
    EmailLetter.objects.bulk_create(rows, ignore_conflicts=True)
    return EmailLetter.objects.filter(order=order).count() - before


def _received(order: EmailOrder, letters) -> bool:
    """The first letter: the order becomes `received` and is charged (one transaction). False if
    another actor ended it first (then a letter it did not pay for is our loss, booked once)."""
    if not letters:
        return False
    now = timezone.now()
    with transaction.atomic():
        won = EmailOrder.objects.filter(pk=order.pk, state=State.ACTIVE).update(
            state=State.RECEIVED, ended_at=now, end_reason="letter received", upstream_pending=""
        )
        _store(order, letters)
        if won:
            order.state = State.RECEIVED
            money.charge(order, memo=f"e-mail #{order.pk} letter", cost_memo=f"e-mail #{order.pk} {order.domain}")
    order.refresh_from_db()
    return bool(won)


def _late_letters(order: EmailOrder, letters) -> None:
    """Letters for an order that ended refunded: kept for the record, their cost our loss."""
    if not letters:
        return
    with transaction.atomic():
        _store(order, letters)
        money.order_loss(order, memo=f"e-mail #{order.pk}: a letter came after it ended refunded")


def _end_refunded(order: EmailOrder, state: str, *, reason: str, pending: str = "") -> bool:
    with transaction.atomic():
        won = EmailOrder.objects.filter(pk=order.pk, state=State.ACTIVE).update(
            state=state, ended_at=timezone.now(), end_reason=reason[:200], upstream_pending=pending
        )
        if won:
            money.refund(order, reason=f"e-mail #{order.pk}: {reason}"[:200])
    order.refresh_from_db()
    return bool(won)


def email_apply_upstream(*, order: EmailOrder, status: EmailStatus | None) -> bool:
    """Follow what the upstream reports: a letter → charged; over upstream without one →
    refunded (the upstream cannot bill it). Returns whether the order changed."""
    if status is None:
        return False
    EmailOrder.objects.filter(pk=order.pk).update(synced_at=timezone.now())
    if order.state != State.ACTIVE:
        return False
    if status.state == EmailState.RECEIVED and status.letters:
        return _received(order, status.letters)
    if status.state == EmailState.CANCELLED:
        return _end_refunded(order, State.EXPIRED, reason="ended upstream without a letter")
    return False


def _ask(order: EmailOrder) -> EmailStatus | None:
    try:
        return client_for(order.provider).email_status(order.upstream_id)
    except UnknownActivation:
        # The upstream has no such order: it cannot bill one.
        return EmailStatus(state=EmailState.CANCELLED)
    except ProviderError as exc:
        log.info("status of e-mail %s failed: %r", order.pk, exc)
        return None


# --- from the customer --------------------------------------------------------------------------


def email_cancel(*, order: EmailOrder, reason: str = "cancelled by customer") -> EmailOrder:
    """Cancel while waiting: refunded once the upstream confirms; a letter that came first is
    the answer instead (the order is received and charged). An order already over raises
    OrderAlreadyEnded (a received one is returned as it is: its code is the answer);
    ProviderFailed when the upstream cannot be asked now (nothing changes)."""
    if order.state == State.RECEIVED:
        return order
    if order.state != State.ACTIVE:
        raise OrderAlreadyEnded(order.state)
    try:
        # A letter that came since the last sync is the customer's: the upstream's cancel
        # returns it instead of cancelling (the interface's contract).
        cancelled = client_for(order.provider).email_cancel(order.upstream_id)
    except (EmailEnded, UnknownActivation):
        _end_refunded(order, State.CANCELLED, reason=f"{reason} (already over upstream)")
        return _answer(order)
    except ProviderError as exc:
        raise ProviderFailed(order.provider.slot, exc.raw or type(exc).__name__) from None
    if not cancelled.refunded:
        _received(order, cancelled.letters)
        return _answer(order)
    if not _end_refunded(order, State.CANCELLED, reason=reason):
        order.refresh_from_db()
        if order.state != State.RECEIVED:
            raise OrderAlreadyEnded(order.state)
    return order


def _answer(order: EmailOrder) -> EmailOrder:
    order.refresh_from_db()
    if order.state not in (State.RECEIVED, State.CANCELLED, State.EXPIRED):
        raise OrderAlreadyEnded(order.state)
    return order


# --- the letter sync ----------------------------------------------------------------------------


def emails_sync(*, provider_id: int, limit: int = 500) -> int:
    """One letter cycle for one provider's waiting orders, the longest unchecked first."""
    orders = list(
        EmailOrder.objects.filter(provider_id=provider_id, state=State.ACTIVE)
        .exclude(upstream_id="")
        .select_related("provider")
        .order_by("synced_at", "id")[:limit]
    )
    for order in orders:
        email_apply_upstream(order=order, status=_ask(order))
    return len(orders)


def providers_with_emails() -> list[int]:
    live = EmailOrder.objects.filter(state=State.ACTIVE).exclude(upstream_id="")
    return list(live.values_list("provider_id", flat=True).distinct().order_by())


def emails_pending_cancel(*, limit: int = 500) -> list[int]:
    """Expired orders whose cancel has not reached the upstream yet."""
    pending = EmailOrder.objects.filter(upstream_pending=Pending.CANCEL).order_by("id")
    return list(pending.values_list("id", flat=True)[:limit])


def _give_back(order: EmailOrder) -> str | None:
    """Cancel a mailbox the customer no longer pays for (expired, or an unknown purchase learnt
    late), so the upstream cannot bill it: a letter it reports first is kept and its cost booked
    as our loss. The outcome in words; None when the upstream cannot be asked now."""
    try:
        cancelled = client_for(order.provider).email_cancel(order.upstream_id)
    except (EmailEnded, UnknownActivation):
        return "already over upstream"
    except ProviderError as exc:
        log.info("cancel of e-mail %s (%s) failed: %r", order.pk, order.state, exc)
        return None
    if cancelled.refunded:
        return "cancelled upstream"
    _late_letters(order, cancelled.letters)
    return "a letter came after the customer's refund: its cost booked as a loss"


def email_forward_cancel(*, order_id: int) -> str:
    """Tell the upstream an expired order is over (`_give_back`). Idempotent."""
    order = EmailOrder.objects.select_related("provider").get(pk=order_id)
    if order.upstream_pending != Pending.CANCEL or not order.upstream_id:
        return "nothing to forward"
    note = _give_back(order)
    if note is None:
        return "retry later"
    EmailOrder.objects.filter(pk=order_id, upstream_pending=Pending.CANCEL).update(upstream_pending="")
    return note


# --- expiry and unknown outcomes ------------------------------------------------------------------


def emails_expire_due(*, now=None, batch_size: int = 500) -> int:
    """Waiting orders past their lifetime: refunded, `expired`, the upstream told (a task); a
    purchase stuck `requesting` past its deadline becomes an unknown outcome (hold released)."""
    now = now or timezone.now()
    expired = 0
    due = EmailOrder.objects.filter(state=State.ACTIVE, expires_at__lte=now).select_related("provider")
    for order in due[:batch_size]:
        if _end_refunded(order, State.EXPIRED, reason="no letter in its lifetime", pending=Pending.CANCEL):
            expired += 1
            _queue_cancel(order)
    expired += purchases_interrupted_close(EmailOrder, now=now, batch_size=batch_size)
    return expired


def _queue_cancel(order: EmailOrder) -> None:
    from reseller.activations.enqueue import after_commit
    from reseller.tasks import forward_email_cancel

    after_commit(forward_email_cancel, order.pk)


def emails_reconcile(*, now=None) -> int:
    """Unknown e-mail purchases (the customer was refunded when it ended unknown): a mailbox we
    learnt late is cancelled upstream (a letter it got first is our loss); one we never learnt
    cannot be looked up by any e-mail protocol: once its upstream lifetime is over its possible
    cost is booked as our loss."""
    now = now or timezone.now()
    settled = 0
    unknown = EmailOrder.objects.filter(state=State.UNKNOWN, upstream_pending=Pending.RECONCILE).select_related(
        "provider"
    )
    for order in unknown:
        if order.upstream_id:
            outcome = _give_back(order)
            if outcome is None:
                continue
            note = f"unknown outcome; the mailbox learnt late: {outcome}"
        elif now - order.created_at > timedelta(seconds=order.lifetime_seconds) + timedelta(hours=1):
            money.order_loss(order, memo=f"e-mail #{order.pk}: unknown outcome, cannot be reconciled")
            note = "unknown outcome; cannot be reconciled: cost booked as a loss"
        else:
            continue
        settled += EmailOrder.objects.filter(pk=order.pk, upstream_pending=Pending.RECONCILE).update(
            upstream_pending="", failure=note
        )
    return settled
