"""Work against upstreams, run by Celery tasks (never in a customer's request):
status sync and forwarding the customer's setStatus (reconciling unknown
outcomes is `reseller.activations.reconcile`).

Everything is found again from the database each run, so a lost task or a
killed worker only delays it.
"""

import logging

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from reseller.activations.enqueue import after_commit, queued_key
from reseller.activations.lifecycle import FoundCode, activation_apply_upstream, activations_record_codes, extract_code
from reseller.models import Activation
from upstream.models import Provider
from upstream.providers import client_for
from upstream.providers.base import (
    CancelTooEarly,
    ProviderError,
    ProviderTimeout,
    SetStatus,
    StatusResult,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.selectors import providers_sharing_account

log = logging.getLogger(__name__)
State = Activation.State
Pending = Activation.Upstream
SYNCED_STATES = (State.ACTIVE, State.WAITING_RETRY)
FORWARD = {
    Pending.READY: SetStatus.READY,
    Pending.RETRY: SetStatus.RETRY,
    Pending.FINISH: SetStatus.FINISH,
    Pending.CANCEL: SetStatus.CANCEL,
}


def providers_to_sync() -> list[int]:
    """Providers with activations whose status can still change upstream."""
    return list(Activation.objects.filter(_sync_filter()).values_list("provider_id", flat=True).distinct().order_by())


def _sync_filter() -> Q:
    # Live ones, and refunded ones whose upstream cancel is not confirmed yet (a late SMS is our loss).
    return Q(state__in=SYNCED_STATES) | Q(state__in=(State.CANCELLED, State.EXPIRED), upstream_pending=Pending.CANCEL)


def provider_sync_statuses(*, provider_id: int, limit: int = 1000) -> int:
    """One sync cycle for one provider. Returns how many activations were checked.

    Where the protocol has an active list (one call lists every live activation), every
    row is checked from that list in this cycle (`_sync_from_active_list`). Otherwise one
    status call each for `limit` rows, the never-checked first, then the longest unchecked:
    every row is checked within ceil(rows / limit) cycles."""
    provider = Provider.objects.get(pk=provider_id)
    client = client_for(provider)
    if client.supports_active_list:
        return _sync_from_active_list(provider, client)
    activations = list(
        _rows_to_sync(provider_id).select_related("provider", "service").order_by(*LONGEST_UNCHECKED)[:limit]
    )
    if not activations:
        return 0
    now = timezone.now()
    found: list[FoundCode] = []
    for activation in activations:
        _sync_one(client, activation, found=found)
    activations_record_codes(provider=provider, found=found)  # the SMS of this cycle, in bulk
    _mark_synced([a.pk for a in activations], now)
    return len(activations)


# Never-checked rows first (PostgreSQL sorts NULL last by default), then the longest unchecked.
LONGEST_UNCHECKED = (F("synced_at").asc(nulls_first=True), "id")


def _rows_to_sync(provider_id: int):
    return Activation.objects.filter(_sync_filter(), provider_id=provider_id).exclude(upstream_id="")


def _sync_from_active_list(provider: Provider, client) -> int:
    """Every row of the provider against one active list. Unchanged rows cost nothing but their
    share of one read: rows are read as tuples, codes found are recorded in bulk
    (`activations_record_codes`), and only rows that end are loaded and applied one by one.
    `synced_at` is written for the rows never checked before and those asked one by one, not
    for every listed row every cycle (it only orders the rows to ask). Rows missing from the
    list ended upstream: each is asked once, at most UPSTREAM_SYNC_UNLISTED_PER_CYCLE per
    cycle, the longest unchecked first (the rest wait for the next cycles)."""
    rows = list(
        _rows_to_sync(provider.pk)
        .order_by(*LONGEST_UNCHECKED)
        .annotate(never=ExpressionWrapper(Q(synced_at__isnull=True), output_field=BooleanField()))
        .values_list("pk", "upstream_id", "state", "previous_code", "upstream_pending", "never")
    )
    if not rows:
        return 0
    now = timezone.now()
    listed = {item.upstream_id: item for item in client.active_activations(expected=expected_live(provider))}
    checked: list[int] = []
    found: list[FoundCode] = []
    changed: dict[int, StatusResult] = {}
    unlisted: list[int] = []
    first_checks: list[int] = []  # listed rows never checked before: stamped once
    get, waiting_states, code_state = listed.get, _WAITING, UpstreamState.CODE
    for pk, upstream_id, state, previous_code, pending, never in rows:
        item = get(upstream_id)
        if item is None:
            unlisted.append(pk)
            continue
        checked.append(pk)
        if never:
            first_checks.append(pk)
        if item.state == UpstreamState.WAITING:
            continue  # the common case: still waiting, nothing to apply
        if item.state == code_state and state in waiting_states:
            code = extract_code(item.code, item.text)
            if code and (state == State.ACTIVE or code != previous_code):
                found.append(FoundCode(pk, code, item.text or "", first=state == State.ACTIVE))
            continue
        if _listed_changes(item, state=state, previous_code=previous_code, pending=pending):
            changed[pk] = StatusResult(state=item.state, code=item.code, text=item.text, raw=str(item.raw))
    activations_record_codes(provider=provider, found=found)  # the SMS of this cycle, in bulk
    for activation in Activation.objects.filter(pk__in=list(changed)).select_related("provider", "service"):
        activation_apply_upstream(activation=activation, result=changed[activation.pk])
    asked = unlisted[: settings.UPSTREAM_SYNC_UNLISTED_PER_CYCLE]
    by_pk = Activation.objects.select_related("provider", "service").in_bulk(asked)
    for pk in asked:
        if pk in by_pk:
            _sync_one(client, by_pk[pk])  # not in the live list: it ended upstream; ask once to learn how
    checked += asked
    _mark_synced(first_checks + asked, now)
    if len(unlisted) > len(asked):
        log.info(
            "provider %s: %d activations missing from the active list wait for the next cycles",
            provider.slot,
            len(unlisted) - len(asked),
        )
    return len(checked)


_WAITING = frozenset((State.ACTIVE, State.WAITING_RETRY))


def _mark_synced(pks: list[int], now) -> None:
    """`synced_at = now` for these rows: one UPDATE with one array parameter (an `IN (...)` of
    tens of thousands of placeholders costs more to build and parse than the update itself)."""
    if not pks:
        return
    if connection.vendor != "postgresql":
        Activation.objects.filter(pk__in=pks).update(synced_at=now)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Activation._meta.db_table} SET synced_at = %s WHERE id = ANY(%s::bigint[])",  # noqa: S608
            [now, pks],
        )


def _listed_changes(item, *, state: str, previous_code: str, pending: str) -> bool:
    """Whether applying this active-list entry can change the row (activation_apply_upstream
    decides again on the fresh row; this only spares the unchanged ones a load)."""
    if item.state in (UpstreamState.CANCELLED, UpstreamState.FINISHED):
        return True
    if item.state != UpstreamState.CODE or not extract_code(item.code, item.text):
        return False  # still waiting (or waiting for another SMS): nothing to apply
    if state == State.ACTIVE:
        return True  # the first SMS
    if state == State.WAITING_RETRY:
        return extract_code(item.code, item.text) != previous_code  # another SMS
    return pending == Pending.CANCEL  # a code after our refund: a loss to book


def expected_live(provider: Provider) -> int:
    """How many activations the provider's account may list: every row buying with the
    same account (sibling rows share one list) that can still be live upstream. It sizes
    the reply we accept (`http.list_body_limit`)."""
    siblings = providers_sharing_account(provider)
    return (
        Activation.objects.filter(provider__in=siblings)
        .filter(Q(state__in=Activation.LIVE_STATES) | ~Q(upstream_pending=""))
        .count()
    )


# A webhook's hint is followed for orders whose upstream status can still matter.
CHECKED_STATES = (State.ACTIVE, State.WAITING_RETRY, State.CANCELLED, State.EXPIRED)


def activation_check_soon(*, provider_id: int, upstream_id: str) -> bool:
    """A webhook says this upstream activation changed: queue a check of our order once the
    transaction commits (repeated hints while one is queued send no second). False when no
    order of ours is concerned."""
    from reseller.tasks import CHECK_QUEUED_TTL, check_activation

    activation = (
        Activation.objects.filter(provider_id=provider_id, upstream_id=upstream_id, state__in=CHECKED_STATES)
        .values_list("pk", flat=True)
        .first()
    )
    if activation is None:
        return False
    after_commit(check_activation, activation, once=(queued_key("check", activation), CHECK_QUEUED_TTL))
    return True


def activation_check_now(*, activation_id: int) -> str:
    """Ask the upstream about one activation now (a webhook's hint) and apply the answer."""
    activation = Activation.objects.select_related("provider", "service").get(pk=activation_id)
    if not activation.upstream_id:
        return "no upstream id"
    _sync_one(client_for(activation.provider), activation)
    return activation.state


def _sync_one(client, activation: Activation, *, found: list[FoundCode] | None = None) -> None:
    """Ask and apply; with `found`, a new code of a waiting row is added to it instead (the
    caller records them in bulk)."""
    try:
        result = client.status(activation.upstream_id)
    except UnknownActivation:
        result = StatusResult(state=UpstreamState.CANCELLED, raw="NO_ACTIVATION")
    except ProviderError as exc:
        log.info("status of activation %s failed: %r", activation.pk, exc)
        return
    if found is not None and result.state == UpstreamState.CODE and activation.state in _WAITING:
        code = extract_code(result.code, result.text)
        if code and (activation.state == State.ACTIVE or code != activation.previous_code):
            found.append(FoundCode(activation.pk, code, result.text or "", first=activation.state == State.ACTIVE))
        return
    activation_apply_upstream(activation=activation, result=result)


# --- forwarding the customer's setStatus -------------------------------------------------


class ForwardLater(Exception):
    """The upstream could not take the status now; the task retries with backoff."""


def activation_forward_upstream(*, activation_id: int) -> str:
    """Send the activation's pending setStatus upstream, once. Idempotent: the
    pending mark is cleared only if it is still the one that was sent."""
    activation = Activation.objects.select_related("provider").get(pk=activation_id)
    pending = activation.upstream_pending
    if pending not in FORWARD or not activation.upstream_id:
        return "nothing to forward"
    client = client_for(activation.provider)
    try:
        token = client.set_status(activation.upstream_id, FORWARD[pending])
    except UnknownActivation as exc:
        token = f"gone upstream ({exc.raw})"
    except ProviderError as exc:
        if pending == Pending.READY:
            token = f"ready not taken ({exc.raw}): optional, not retried"
        elif isinstance(exc, Unsupported):
            token = "not supported by this upstream's protocol"  # e.g. OTPBuddy has no "another SMS"
        else:
            return _forward_failed(activation, pending, client, exc)
    Activation.objects.filter(pk=activation_id, upstream_pending=pending).update(upstream_pending="")
    return token


def _forward_failed(activation: Activation, pending: str, client, exc: ProviderError) -> str:
    """A refused forward. An earlier attempt may have landed (its answer lost, its worker
    killed): if the upstream already shows the activation ended, a cancel or finish is
    done; anything else is retried (ForwardLater)."""
    landed = (
        pending in (Pending.CANCEL, Pending.FINISH)
        and not isinstance(exc, CancelTooEarly | ProviderTimeout)
        and _ended_upstream(client, activation.upstream_id)
    )
    if not landed:
        Activation.objects.filter(pk=activation.pk).update(upstream_attempts=activation.upstream_attempts + 1)
        raise ForwardLater(repr(exc)) from exc
    Activation.objects.filter(pk=activation.pk, upstream_pending=pending).update(upstream_pending="")
    return f"already ended upstream ({exc.raw})"


def _ended_upstream(client, upstream_id: str) -> bool:
    try:
        return client.status(upstream_id).state in (UpstreamState.CANCELLED, UpstreamState.FINISHED)
    except UnknownActivation:
        return True
    except ProviderError:
        return False


def activations_pending_forward(*, limit: int = 500) -> list[int]:
    """Pending setStatus marks not cleared yet (a lost message, retries exhausted, the upstream down)."""
    return list(
        Activation.objects.filter(upstream_pending__in=list(FORWARD))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
