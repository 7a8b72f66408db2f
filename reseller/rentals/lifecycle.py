"""A rented number's life after the purchase (docs/rentals.md): SMS and state from the upstream,
the customer's finish, cancel and renewals, expiry, and unknown outcomes.

Each change is one conditional UPDATE inside the transaction that moves its money, so of any
number of concurrent actors (a cancel, the status sync, the expiry sweeper) exactly one ends a
rental. A cancel is refunded only when the upstream refunds us: the upstream call comes first,
outside any transaction, and its refusal is the customer's refusal.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import Hold, LedgerAccount
from billing.services import hold_release, wallet_hold
from reseller.activations.lifecycle import extract_code
from reseller.models import Rental, RentalRenewal, RentalSms
from reseller.notify.deliveries import rental_sms_queued
from reseller.orders import money
from reseller.orders.engine import HOLD_MARGIN, purchases_interrupted_close
from reseller.orders.errors import OrderAlreadyEnded, ProviderFailed
from reseller.rentals.errors import NoRentalPricing, RenewalInProgress, RentalCannotCancel
from reseller.rentals.purchase import HOUR, renewal_candidates
from upstream.providers import client_for, http
from upstream.providers.base import (
    BadResponse,
    ProviderError,
    ProviderTimeout,
    RentCannotCancel,
    RentEnded,
    RentSetStatus,
    RentSms,
    RentState,
    RentStatus,
    UnknownActivation,
    Unsupported,
)
from upstream.providers.rent_sms import sms_digest

log = logging.getLogger(__name__)
State = Rental.State
Pending = Rental.Upstream


def refund_window_open(rental: Rental, now=None) -> bool:
    """Refundable: within RENTAL_REFUND_SECONDS of the start, before any SMS, never renewed."""
    now = now or timezone.now()
    started = rental.activated_at or rental.created_at
    return (
        now - started < timedelta(seconds=settings.RENTAL_REFUND_SECONDS)
        and not rental.messages.exists()
        and not rental.renewals.filter(state=RentalRenewal.State.DONE).exists()
    )


def _live(rental: Rental) -> None:
    if rental.state != State.ACTIVE:
        raise OrderAlreadyEnded(rental.state)


def _end_refunded(rental: Rental, *, reason: str) -> bool:
    with transaction.atomic():
        won = Rental.objects.filter(pk=rental.pk, state=State.ACTIVE).update(
            state=State.CANCELLED, ended_at=timezone.now(), end_reason=reason[:200], upstream_pending=""
        )
        if won:
            money.refund_paid(rental, memo=f"rental #{rental.pk}: {reason}")
    rental.refresh_from_db()
    return bool(won)


# --- from the customer --------------------------------------------------------------------------


def rental_cancel(*, rental: Rental, reason: str = "cancelled by customer") -> Rental:
    """End the rental with a full refund, where the upstream refunds it. RentalCannotCancel past
    the window (or when the upstream refuses); ProviderFailed when it cannot be asked now."""
    _live(rental)
    if not refund_window_open(rental):
        raise RentalCannotCancel()
    try:
        client_for(rental.provider).rent_set_status(rental.upstream_id, RentSetStatus.CANCEL)
    except (RentCannotCancel, Unsupported):
        # Refused, or a protocol without a cancel (OTPGet's rental-handler.php): never refunded.
        raise RentalCannotCancel() from None
    except RentEnded:
        rental_apply_upstream(rental=rental, status=_ask(rental))
        raise OrderAlreadyEnded(rental.state) from None
    except ProviderError as exc:
        # Not cancelled, or not known to be: the rental stays; the status sync sees a cancel
        # that landed anyway (and refunds then).
        raise ProviderFailed(rental.provider.slot, exc.raw or type(exc).__name__) from None
    if not _end_refunded(rental, reason=reason):
        raise OrderAlreadyEnded(rental.state)
    return rental


def rental_finish(*, rental: Rental, reason: str = "finished by customer") -> Rental:
    """End the rental now (no refund); the upstream is told by a task."""
    _live(rental)
    won = Rental.objects.filter(pk=rental.pk, state=State.ACTIVE).update(
        state=State.FINISHED, ended_at=timezone.now(), end_reason=reason[:200], upstream_pending=Pending.FINISH
    )
    rental.refresh_from_db()
    if not won:
        raise OrderAlreadyEnded(rental.state)
    _queue_forward(rental)
    return rental


def _queue_forward(rental: Rental) -> None:
    from reseller.activations.enqueue import after_commit
    from reseller.tasks import forward_rental_status

    after_commit(forward_rental_status, rental.pk)


def rental_forward_upstream(*, rental_id: int) -> str:
    """Send a finished rental's finish upstream (idempotent; a refusal because it already ended
    there is done too)."""
    rental = Rental.objects.select_related("provider").get(pk=rental_id)
    if rental.upstream_pending != Pending.FINISH or not rental.upstream_id:
        return "nothing to forward"
    try:
        token = client_for(rental.provider).rent_set_status(rental.upstream_id, RentSetStatus.FINISH)
    except (RentEnded, UnknownActivation) as exc:
        token = f"already ended upstream ({exc.raw})"
    except Unsupported:
        token = "not in this upstream's protocol: it ends by itself"
    except ProviderError as exc:
        log.info("finish of rental %s failed: %r", rental_id, exc)
        return "retry later"
    Rental.objects.filter(pk=rental_id, upstream_pending=Pending.FINISH).update(upstream_pending="")
    return token


# --- renewals ---------------------------------------------------------------------------------


def rental_renew(*, rental: Rental, hours: int, request_key: str, wallet_id: int) -> RentalRenewal:
    """Extend an active rental by `hours`, charged as its own order. The same `request_key`
    again is the same renewal (charged once): it is returned as it ended, after waiting for it
    when another request is still buying it. Raises OrderAlreadyEnded, NoRentalPricing,
    InsufficientFunds, ProviderFailed, RenewalInProgress."""
    existing = RentalRenewal.objects.filter(rental=rental, request_key=request_key).first()
    if existing is not None:
        return _settled(existing)
    _live(rental)
    candidates = renewal_candidates(rental, hours)
    if not candidates:
        raise NoRentalPricing()
    quote = candidates[0].quote
    try:
        with transaction.atomic():
            renewal = RentalRenewal.objects.create(
                rental=rental, request_key=request_key, hours=hours, price=quote.price, expires_before=rental.expires_at
            )
            renewal.hold = wallet_hold(
                wallet=LedgerAccount(pk=wallet_id),
                amount=quote.price,
                key=money.key(renewal, "hold"),
                expires_at=timezone.now() + timedelta(seconds=settings.PURCHASE_DEADLINE_SECONDS) + HOLD_MARGIN,
                memo=f"renewal #{renewal.pk} of rental #{rental.pk}",
                order=money.ref(renewal),
            ).hold
            RentalRenewal.objects.filter(pk=renewal.pk).update(hold=renewal.hold)
    except IntegrityError:
        existing = RentalRenewal.objects.filter(rental=rental, request_key=request_key).first()
        if existing is None:
            raise
        return _settled(existing)
    return _prolong(rental, renewal, cost_pkr=quote.cost_pkr)


def _settled(renewal: RentalRenewal) -> RentalRenewal:
    """A renewal another request started: wait (bounded) until it is no longer being bought."""
    deadline = time.monotonic() + settings.PURCHASE_DEADLINE_SECONDS + 5
    while renewal.state == RentalRenewal.State.REQUESTING and time.monotonic() < deadline:
        time.sleep(0.1)
        renewal.refresh_from_db()
    if renewal.state == RentalRenewal.State.REQUESTING:
        raise RenewalInProgress()
    return renewal


def _prolong(rental: Rental, renewal: RentalRenewal, *, cost_pkr) -> RentalRenewal:
    provider = rental.provider
    try:
        with http.deadline(settings.PURCHASE_DEADLINE_SECONDS):
            rented = client_for(provider).rent_prolong(rental.upstream_id, renewal.hours)
    except RentEnded:
        _renewal_failed(renewal, RentalRenewal.State.FAILED, "the rental ended upstream")
        rental_apply_upstream(rental=rental, status=_ask(rental))
        raise OrderAlreadyEnded(rental.state if rental.state != State.ACTIVE else State.EXPIRED) from None
    except (ProviderTimeout, BadResponse) as exc:
        # It may have been prolonged (and billed): the customer is not charged; the possible
        # cost is our loss (every refund upstream-confirmed or a loss).
        _renewal_failed(renewal, RentalRenewal.State.UNKNOWN, f"unknown outcome: {type(exc).__name__}")
        money.book_loss(
            provider=provider,
            amount=cost_pkr,
            key=money.key(renewal, "loss"),
            memo=f"renewal #{renewal.pk} of rental #{rental.pk}: outcome unknown",
            order=money.ref(renewal),
        )
        raise ProviderFailed(provider.slot, "TIMEOUT") from None
    except ProviderError as exc:
        _renewal_failed(renewal, RentalRenewal.State.FAILED, str(exc.raw or type(exc).__name__))
        raise ProviderFailed(provider.slot, exc.raw or "ERROR") from None
    base = rental.expires_at or timezone.now()
    new_end = max(rented.ends_at, base) if rented.ends_at else base + timedelta(seconds=renewal.hours * HOUR)
    with transaction.atomic():
        RentalRenewal.objects.filter(pk=renewal.pk).update(
            state=RentalRenewal.State.DONE, cost_pkr=cost_pkr, expires_after=new_end
        )
        renewal.refresh_from_db()
        money.charge(
            renewal,
            memo=f"renewal #{renewal.pk} of rental #{rental.pk} (+{renewal.hours} h)",
            cost_memo=f"renewal #{renewal.pk} of rental #{rental.pk}",
        )
        fields = {"expires_at": new_end}
        if rented.upstream_id and rented.upstream_id != rental.upstream_id:
            fields["upstream_id"] = rented.upstream_id  # SMS-Activate reorders a completed rental
        Rental.objects.filter(pk=rental.pk).update(**fields)
    rental.refresh_from_db()
    return renewal


def _renewal_failed(renewal: RentalRenewal, state: str, failure: str) -> None:
    with transaction.atomic():
        hold_release(hold=Hold.objects.get(pk=renewal.hold_id), reason=f"renewal {state}: {failure}"[:200])
        RentalRenewal.objects.filter(pk=renewal.pk, state=RentalRenewal.State.REQUESTING).update(
            state=state, failure=failure[:2000]
        )
    renewal.refresh_from_db()


# --- from the upstream ----------------------------------------------------------------------------


def _ask(rental: Rental) -> RentStatus | None:
    try:
        return client_for(rental.provider).rent_status(rental.upstream_id)
    except UnknownActivation:
        return RentStatus(state=RentState.FINISHED)
    except ProviderError as exc:
        log.info("status of rental %s failed: %r", rental.pk, exc)
        return None


def sms_id_of(sms: RentSms) -> str:
    """The SMS's id at the upstream, or (a client that gave none) the rent clients' own digest."""
    return sms.sms_id or sms_digest(str(sms.received_at), sms.sender or "", sms.text or "")


def rental_apply_upstream(*, rental: Rental, status: RentStatus | None) -> int:
    """Store the SMS the upstream reports (new ones only) and follow its state: ended upstream
    without our asking → finished; cancelled there (a cancel of ours whose answer was lost) →
    refunded. Returns how many new SMS were stored."""
    if status is None:
        return 0
    rows = [
        RentalSms(
            rental=rental,
            sms_id=sms_id_of(sms)[:100],
            sender=(sms.sender or "")[:64],
            text=sms.text or "",
            code=extract_code(sms.code, sms.text),
            received_at=sms.received_at,
        )
        for sms in status.sms
    ]
    incoming = {r.sms_id for r in rows}
    known = set(RentalSms.objects.filter(rental=rental, sms_id__in=incoming).values_list("sms_id", flat=True))
    new = [r for r in rows if r.sms_id not in known]
    fresh: list[RentalSms] = []
    if new:  # a poll with nothing new writes nothing
        with transaction.atomic():  # the SMS and their webhook deliveries (reseller/notify) commit together
            RentalSms.objects.bulk_create(new, ignore_conflicts=True)
            fresh = list(RentalSms.objects.filter(rental=rental, sms_id__in={r.sms_id for r in new}).order_by("id"))
            rental_sms_queued(rental=rental, messages=fresh)
    added = len(fresh)
    now = timezone.now()
    Rental.objects.filter(pk=rental.pk).update(synced_at=now)
    if rental.state == State.ACTIVE and status.state == RentState.CANCELLED:
        _end_refunded(rental, reason="cancelled upstream")
    elif rental.state == State.ACTIVE and status.state == RentState.FINISHED:
        Rental.objects.filter(pk=rental.pk, state=State.ACTIVE).update(
            state=State.FINISHED, ended_at=now, end_reason="ended upstream"
        )
    rental.refresh_from_db()
    return added


def rentals_sync(*, provider_id: int, limit: int = 500) -> int:
    """One status cycle for one provider's active rentals, the longest unchecked first."""
    rentals = list(
        Rental.objects.filter(provider_id=provider_id, state=State.ACTIVE)
        .exclude(upstream_id="")
        .select_related("provider")
        .order_by("synced_at", "id")[:limit]
    )
    for rental in rentals:
        rental_apply_upstream(rental=rental, status=_ask(rental))
    return len(rentals)


def providers_with_rentals() -> list[int]:
    return list(Rental.objects.filter(state=State.ACTIVE).values_list("provider_id", flat=True).distinct().order_by())


def rentals_pending_forward(*, limit: int = 500) -> list[int]:
    """Finished rentals whose finish has not reached the upstream yet (a lost message, an upstream down)."""
    pending = Rental.objects.filter(upstream_pending=Pending.FINISH).order_by("id")
    return list(pending.values_list("id", flat=True)[:limit])


# --- expiry and unknown outcomes ------------------------------------------------------------------


def rentals_expire_due(*, now=None, batch_size: int = 500) -> int:
    """Active rentals past their period end `expired` (paid up front: no money moves); a purchase
    stuck `requesting` past its deadline becomes an unknown outcome (its hold released)."""
    now = now or timezone.now()
    due = Rental.objects.filter(state=State.ACTIVE, expires_at__lte=now)
    batch = list(due.values_list("pk", flat=True)[:batch_size])
    # One conditional UPDATE: a row another actor ended meanwhile no longer matches.
    expired = due.filter(pk__in=batch).update(state=State.EXPIRED, ended_at=now, end_reason="period over")
    expired += purchases_interrupted_close(Rental, now=now, batch_size=batch_size)
    return expired


def rentals_reconcile(*, now=None) -> int:
    """Unknown rental purchases: a number we learnt (a late answer) is cancelled upstream (or
    finished, where the refund is refused, and its cost booked as a loss); one we never learnt
    cannot be listed by every rent protocol: after an hour its possible cost is booked as a loss.
    The customer was refunded when the purchase ended unknown."""
    now = now or timezone.now()
    settled = 0
    for rental in Rental.objects.filter(state=State.UNKNOWN, upstream_pending=Pending.RECONCILE).select_related(
        "provider"
    ):
        if rental.upstream_id:
            client = client_for(rental.provider)
            try:
                client.rent_set_status(rental.upstream_id, RentSetStatus.CANCEL)
                note = "unknown outcome; the late number was cancelled upstream (refunded to us)"
            except (RentCannotCancel, RentEnded):
                money.order_loss(rental, memo=f"rental #{rental.pk}: late number could not be refunded")
                note = "unknown outcome; the late number could not be refunded: cost booked as a loss"
            except ProviderError as exc:
                log.info("cancel of late rental %s failed: %r", rental.pk, exc)
                continue
        elif now - rental.created_at > timedelta(hours=1):
            money.order_loss(rental, memo=f"rental #{rental.pk}: unknown outcome, cannot be reconciled")
            note = "unknown outcome; cannot be reconciled: cost booked as a loss"
        else:
            continue
        settled += Rental.objects.filter(pk=rental.pk, upstream_pending=Pending.RECONCILE).update(
            upstream_pending="", failure=note
        )
    return settled
