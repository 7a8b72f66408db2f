"""State changes of a bought activation: SMS from upstream, the customer's
setStatus, expiry. Each change is one conditional UPDATE (`WHERE state IN
(...)`) inside the transaction that moves the money, so of any number of
concurrent actors (ten cancels, an arriving SMS, the sweeper) exactly one
changes a given state and books its money; the others see the new state.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reseller.activations import money
from reseller.activations.errors import EarlyCancelDenied, NoSmsReceived, StatusAlreadyChanged
from reseller.models import Activation
from upstream.health import provider_record_sms
from upstream.providers.base import StatusResult, UpstreamState

State = Activation.State
Pending = Activation.Upstream
CODE_STATES = (State.CODE_RECEIVED, State.WAITING_RETRY)
_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{3,4}[- ]?\d{3,4}|\d{4,8})(?![0-9A-Za-z])")


def extract_code(code: str | None, text: str | None) -> str:
    """The code only (decisions.md #13): letters and digits, no ':' or spaces.
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
                if (
                    _move(
                        activation,
                        (State.ACTIVE, State.WAITING_RETRY) if not first else (State.ACTIVE,),
                        state=State.CODE_RECEIVED,
                        code=code,
                        sms_text=(result.text or "")[:4000],
                        sms_at=now,
                        synced_at=now,
                    )
                    and first
                ):
                    money.charge(activation)
        elif activation.state in (State.CANCELLED, State.EXPIRED) and activation.upstream_pending == Pending.CANCEL:
            # A code arrived after we refunded the customer: the upstream bills us.
            with transaction.atomic():
                money.book_loss(
                    provider=activation.provider,
                    amount=activation.cost_pkr,
                    key=f"activation:{activation.pk}:loss",
                    memo=f"activation #{activation.pk}: SMS arrived after the customer's refund",
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


# --- from the customer ------------------------------------------------------------------


def activation_set_status(*, activation: Activation, status: int) -> str:
    """The customer's setStatus (1, 3, 6, 8, -1). Returns the reply token;
    raises EarlyCancelDenied, NoSmsReceived or StatusAlreadyChanged."""
    for _ in range(3):  # a lost race re-reads the state and decides again
        token = _set_status_once(activation, status)
        if token is not None:
            return token
    raise StatusAlreadyChanged()


def _set_status_once(activation: Activation, status: int) -> str | None:
    now = timezone.now()
    state = activation.state
    if state in Activation.ENDED_STATES:
        raise StatusAlreadyChanged()
    if status == 1:
        if state == State.ACTIVE:
            Activation.objects.filter(pk=activation.pk, upstream_pending="").update(upstream_pending=Pending.READY)
        return "ACCESS_READY"
    if status == 3:
        if state in (State.REQUESTING, State.ACTIVE):
            raise NoSmsReceived()
        if state == State.WAITING_RETRY:
            return "ACCESS_RETRY_GET"
        won = _move(
            activation,
            (State.CODE_RECEIVED,),
            state=State.WAITING_RETRY,
            previous_code=activation.code,
            upstream_pending=Pending.RETRY,
            upstream_attempts=0,
        )
        return "ACCESS_RETRY_GET" if won else None
    if status == 6:
        if state in (State.REQUESTING, State.ACTIVE):
            raise NoSmsReceived()
        return "ACCESS_ACTIVATION" if _finish_charged(activation) else None
    # 8 or -1: cancel
    if state in CODE_STATES:
        # The code was delivered: the activation ends charged (documented decision).
        return "ACCESS_CANCEL" if _finish_charged(activation) else None
    started = activation.activated_at or activation.created_at
    if state == State.REQUESTING or now - started < timedelta(seconds=settings.CANCEL_GRACE_SECONDS):
        raise EarlyCancelDenied()
    won = _end_refunded(
        activation,
        state=State.CANCELLED,
        reason="cancelled by customer",
        upstream_pending=Pending.CANCEL,
        upstream_attempts=0,
    )
    return "ACCESS_CANCEL" if won else None


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
