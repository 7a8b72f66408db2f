"""Reconciliation: settling purchases whose outcome is unknown (docs/activations.md).

A purchase that timed out (or whose process died) released the customer's hold
and became `unknown`: the upstream may still have sold us the number. This
module finds such numbers and cancels them, booking a loss where a code already
reached them (the upstream bills it). The one rule it never breaks: **a number
an order in flight may own is never touched.** An order in flight looks exactly
like an orphan from outside (its upstream call returned, its phase 3 has not
committed yet), so a live upstream number is only treated as ours to cancel when

- it carries our order reference (`act<id>`, sent as SMS-Activate's `orderId`)
  naming an order of ours that is over (`unknown`, or ended without a number):
  that order is provably its owner, and an `unknown` one is linked to it; or
- it carries no reference, was first seen unowned at least
  `orphan_min_age()` ago (longer than any purchase can take), and every purchase
  at that upstream account that began before it was first seen has ended. Such a
  number is cancelled but linked to no order: without a reference, which of our
  unknown orders it belonged to cannot be proven.

A number whose reference names anything else (an order still `requesting`, a
live one, a reference that is not ours) is left alone.

The same rules settle one purchase at once (`purchase_check`): right after an
unreadable reply, while the order is still `requesting`, the active list is read
once and the order's number is found, proven absent, or left unknown (docs/orders.md).
"""

import logging
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from reseller.activations.purchase import ORDER_REF_PREFIX, lifetime_seconds, order_ref
from reseller.activations.sync import expected_live
from reseller.models import Activation, UpstreamOrphan
from reseller.orders import money
from reseller.orders.engine import Check
from upstream.models import Provider, ServiceMapping
from upstream.providers import client_for
from upstream.providers.base import (
    ActiveActivation,
    ProviderError,
    Purchase,
    SetStatus,
    StatusResult,
    UnknownActivation,
    error_summary,
)
from upstream.providers.base import UpstreamState as Up
from upstream.selectors import providers_sharing_account

log = logging.getLogger(__name__)
State = Activation.State
Pending = Activation.Upstream
Outcome = UpstreamOrphan.Outcome
ORDER_REF = re.compile(ORDER_REF_PREFIX + r"(\d{1,18})")
# How far apart the clocks of the web and worker hosts may be.
CLOCK_SKEW = timedelta(seconds=5)
# States in which an order holds a number the upstream lists as live.
HELD_LIVE = (State.ACTIVE, State.CODE_RECEIVED, State.WAITING_RETRY)


def orphan_min_age() -> timedelta:
    """How long a number without our reference must stay unowned before it may be cancelled."""
    return timedelta(seconds=settings.PURCHASE_DEADLINE_SECONDS) + 2 * CLOCK_SKEW


def provider_reconcile(*, provider_id: int) -> dict:
    """One reconciliation pass for one provider. Returns what it did:
    orphans (unowned numbers looked at), cancelled, losses, closed (unknown orders settled),
    waiting (numbers left alone for now: too young, or a purchase still in flight)."""
    provider = Provider.objects.get(pk=provider_id)
    unknown = list(
        Activation.objects.filter(provider_id=provider_id, state=State.UNKNOWN, upstream_pending=Pending.RECONCILE)
        .select_related("service")
        .order_by("created_at")
    )
    report = {"orphans": 0, "cancelled": 0, "losses": 0, "closed": 0, "waiting": 0}
    client = client_for(provider)
    for activation in [a for a in unknown if a.upstream_id]:  # it answered late: we know the number
        unknown.remove(activation)
        _reconcile_known(client, provider, activation, report)
    open_sightings = UpstreamOrphan.objects.filter(provider_id=provider_id, resolved_at__isnull=True)
    if client.supports_active_list and (unknown or open_sightings.exists()):
        try:
            listing = client.active_activations(expected=expected_live(provider))
        except ProviderError as exc:
            log.info("reconcile: active list of provider slot %s failed: %r", provider.slot, exc)
            return report  # next run
        _reconcile_listing(client, provider, listing, unknown, report)
    _close_unfound(provider, unknown, report, listed=client.supports_active_list)
    return report


def _reconcile_listing(
    client, provider: Provider, listing: list[ActiveActivation], unknown: list[Activation], report: dict
) -> None:
    siblings = providers_sharing_account(provider)
    listed = {item.upstream_id: item for item in listing}
    owned = _owned(listed, siblings)
    now = timezone.now()
    open_rows = {o.upstream_id: o for o in UpstreamOrphan.objects.filter(provider=provider, resolved_at__isnull=True)}
    for upstream_id, sighting in open_rows.items():
        if upstream_id in owned or upstream_id not in listed:
            _resolve(sighting, Outcome.OWNED if upstream_id in owned else Outcome.GONE, now)
    by_ref = {order_ref(a.pk): a for a in unknown}
    for item in listing:
        if item.upstream_id in owned:
            continue
        ref = listed_ref(item)
        if ref:
            owner = by_ref.get(ref) or _ended_owner(ref, siblings)
            if owner is None:
                continue  # in flight, live, or not one of ours: never touched
            report["orphans"] += 1
            if owner in unknown:
                unknown.remove(owner)
            _cancel_orphan(client, provider, item, owner, report)
            continue
        report["orphans"] += 1
        sighting = open_rows.get(item.upstream_id)
        if sighting is None:
            sighting, _ = UpstreamOrphan.objects.get_or_create(
                provider=provider,
                upstream_id=item.upstream_id,
                defaults={"phone": item.phone, "service_code": str(item.raw.get("serviceCode") or "")[:32]},
            )
        if sighting.resolved_at is not None or not _may_cancel(sighting, siblings, now):
            report["waiting"] += 1
            continue
        _cancel_orphan(client, provider, item, None, report, sighting=sighting, unknown=unknown)


def listed_ref(item: ActiveActivation) -> str:
    """The order reference an active-list entry carries (our `act<id>` where it is ours), or ""."""
    return str(item.raw.get("orderId") or "")


def _owned(listed, siblings) -> set[str]:
    """The listed upstream ids an order of ours at this account owns. Read after the listing: a
    purchase that recorded its number meanwhile is seen."""
    return set(
        Activation.objects.filter(provider__in=siblings, upstream_id__in=list(listed)).values_list(
            "upstream_id", flat=True
        )
    )


def _ended_owner(ref: str, siblings) -> Activation | None:
    """Our order a reference names, when that order is over without a number of its own
    (the number is provably its orphan); None for anything else."""
    match = ORDER_REF.fullmatch(ref)
    if match is None:
        return None
    return (
        Activation.objects.filter(pk=int(match.group(1)), provider__in=siblings, upstream_id="")
        .filter(Q(state__in=Activation.ENDED_STATES))
        .first()
    )


def _may_cancel(sighting: UpstreamOrphan, siblings, now) -> bool:
    """A number without our reference: old enough, and no purchase that began before it was
    first seen is still in flight at this account (that purchase may be about to record it)."""
    if now - sighting.first_seen_at < orphan_min_age():
        return False
    in_flight = Activation.objects.filter(
        provider__in=siblings, state=State.REQUESTING, created_at__lte=sighting.first_seen_at + CLOCK_SKEW
    )
    if in_flight.exists():
        return False
    # Recorded since the listing was read?
    return not Activation.objects.filter(provider__in=siblings, upstream_id=sighting.upstream_id).exists()


def _cancel_orphan(
    client,
    provider: Provider,
    item: ActiveActivation,
    owner: Activation | None,
    report: dict,
    *,
    sighting: UpstreamOrphan | None = None,
    unknown: list[Activation] = (),
) -> None:
    """Book the loss if a code reached it, cancel it upstream, settle its owner (when proven)."""
    if owner is not None:
        Activation.objects.filter(pk=owner.pk, upstream_id="").update(upstream_id=item.upstream_id, phone=item.phone)
    had_code = item.state == Up.CODE
    if had_code:
        if owner is not None:  # the key its late-number path would use: a retried pass books it once
            _order_loss(provider, owner, f"its orphan {item.upstream_id} had a code", report)
        else:
            money.book_loss(
                provider=provider,
                amount=_listed_cost(provider, item, unknown),
                key=f"orphan:{provider.pk}:{item.upstream_id}:loss",
                memo=f"orphan upstream activation {item.upstream_id} had a code (unknown outcome)",
            )
            report["losses"] += 1
    try:
        # One with a code is billed anyway and upstreams refuse to cancel it: it is finished.
        client.set_status(item.upstream_id, SetStatus.FINISH if had_code else SetStatus.CANCEL)
    except UnknownActivation:
        pass  # gone meanwhile
    except ProviderError as exc:
        log.info("cancel of orphan %s at provider %s failed: %r", item.upstream_id, provider.slot, exc)
        return  # next run
    report["cancelled"] += 1
    if sighting is not None:
        _resolve(sighting, Outcome.LOSS if had_code else Outcome.CANCELLED, timezone.now())
    if owner is not None:
        _settle(owner, "timeout; number found upstream and cancelled", report)


def _listed_cost(provider: Provider, item: ActiveActivation, unknown: list[Activation]) -> Decimal | None:
    """What the upstream bills for an orphan linked to no order: its listed cost where the
    list shows one, else the cost of an unknown order of the same service."""
    listed = listed_cost(item)
    if listed is not None:
        return provider.to_pkr(listed)
    service = str(item.raw.get("serviceCode") or "")
    same = [a for a in unknown if a.service.code == service] or list(unknown)
    if not same:
        log.warning("orphan %s at provider %s had a code; its cost is unknown", item.upstream_id, provider.slot)
        return None
    return same[0].cost_pkr


def listed_cost(item: ActiveActivation) -> Decimal | None:
    """The entry's `activationCost` (the provider's currency) where the list shows a valid one."""
    try:
        listed = Decimal(str(item.raw.get("activationCost")))
    except InvalidOperation:
        return None
    return listed if listed.is_finite() and listed >= 0 else None


def _resolve(sighting: UpstreamOrphan, outcome: str, now) -> None:
    UpstreamOrphan.objects.filter(pk=sighting.pk, resolved_at__isnull=True).update(outcome=outcome, resolved_at=now)
    sighting.outcome, sighting.resolved_at = outcome, now


def _close_unfound(provider: Provider, unknown: list[Activation], report: dict, *, listed: bool) -> None:
    """Unknown orders no number turned up for within a lifetime are closed as 'not bought'
    (where the upstream lists its numbers) or as a loss (where it cannot be asked)."""
    now = timezone.now()
    for activation in unknown:
        if activation.created_at > now - timedelta(seconds=lifetime_seconds(activation.kind) + 300):
            continue
        if listed:
            note = "unknown outcome; no number of its own found upstream"
        else:
            # We cannot see whether the upstream sold the number: the customer was refunded,
            # so the possible charge is booked as our loss (product decision P15).
            _order_loss(provider, activation, "unknown outcome, cannot be reconciled", report)
            note = "unknown outcome; cannot be reconciled with this protocol: cost booked as a loss"
        _settle(activation, note, report)


def _reconcile_known(client, provider: Provider, activation: Activation, report: dict) -> None:
    """An unknown order whose number we learnt (a late answer): ask about it, cancel it,
    book a loss if a code already reached it."""
    try:
        status = client.status(activation.upstream_id)
    except UnknownActivation:
        status = StatusResult(state=Up.CANCELLED)
    except ProviderError as exc:
        log.info("status of late number %s failed: %r", activation.upstream_id, exc)
        return  # next run
    if status.state == Up.CODE:
        _order_loss(provider, activation, "late number had a code", report)
    if status.state not in (Up.CANCELLED, Up.FINISHED):
        try:
            client.set_status(activation.upstream_id, SetStatus.FINISH if status.state == Up.CODE else SetStatus.CANCEL)
            report["cancelled"] += 1
        except UnknownActivation:
            pass
        except ProviderError as exc:
            log.info("cancel of late number %s failed: %r", activation.upstream_id, exc)
            return  # next run
    _settle(activation, "unknown outcome; the late number was cancelled upstream", report)


def _order_loss(provider: Provider, activation: Activation, why: str, report: dict) -> None:
    """The upstream bills this unknown order's number (one key per order: booked once)."""
    money.order_loss(activation, memo=f"{activation.kind} #{activation.pk}: {why}")
    report["losses"] += 1


def _settle(activation: Activation, note: str, report: dict) -> None:
    """Reconciliation is done with this order."""
    report["closed"] += Activation.objects.filter(pk=activation.pk, upstream_pending=Pending.RECONCILE).update(
        upstream_pending="", failure=note
    )


# --- one purchase at once ------------------------------------------------------------------------


def purchase_check(activation: Activation, *, service_code: str, country_code: int) -> Check | None:
    """Whether the purchase of `activation` (still `requesting`: its upstream call at the row's
    provider, with these codes, just got an unreadable reply from an upstream done with it) sold
    a number, by one read of the active list after that reply and the ownership rules above.
    None where the protocol has no list.

    - An entry carrying its reference (`act<id>`) is its number.
    - Otherwise only an entry no one else can own may be its number: unowned (no order of ours at
      this account records it), carrying no reference (one names another order or system), of
      its service and country where the protocol lists the codes it was bought with, and not
      watched as an orphan since before this order began. None such: nothing was sold (the list
      is the account's whole live set, read after the upstream was done). Exactly one, while no
      other purchase at the account could own such a number (one in flight, or unknown with no
      number yet): it is this order's. Anything else: unknown.
    - Both conclusions by elimination need the whole list: one that misses a number our orders
      hold live at this account may be cut short (or lag), so it proves nothing.
    """
    provider = activation.provider
    client = client_for(provider)
    if not client.supports_active_list:
        return None
    try:
        listing = client.active_activations(expected=expected_live(provider))
    except ProviderError as exc:
        log.info(
            "check of %s %s: active list of slot %s failed: %r", activation.kind, activation.pk, provider.slot, exc
        )
        return Check(why=f"active list {error_summary(exc)}")
    mine = [item for item in listing if listed_ref(item) == order_ref(activation.pk)]
    if len(mine) > 1:
        return Check(why="several numbers carry its reference")
    if mine:
        return Check(bought=_bought(mine[0]))
    siblings = providers_sharing_account(provider)
    by_codes = client.active_list_codes
    # Read before ownership: a rival recording its number between the two reads is seen by one of them.
    rivals = _rivals(activation, siblings, by_service=by_codes)
    owned = _owned({item.upstream_id for item in listing}, siblings)
    if not _complete(listing, siblings):
        return Check(why="the list misses live numbers of ours")
    # Seen before the order began (resolved or not, e.g. cancelled but still listed): never its number.
    watched_before = set(
        UpstreamOrphan.objects.filter(
            provider__in=siblings,
            upstream_id__in=[item.upstream_id for item in listing],
            first_seen_at__lt=activation.created_at - CLOCK_SKEW,
        ).values_list("upstream_id", flat=True)
    )
    unclaimed = [
        item
        for item in listing
        if item.upstream_id not in owned
        and not listed_ref(item)
        and item.upstream_id not in watched_before
        and (not by_codes or _same_codes(item, service_code, country_code))
    ]
    if not unclaimed:
        return Check(absent=True)
    if len(unclaimed) == 1 and not rivals:
        return Check(bought=_bought(unclaimed[0]))
    return Check(why=f"{len(unclaimed)} unowned number(s), {'other purchases may own them' if rivals else 'which?'}")


def _bought(item: ActiveActivation) -> Purchase:
    """The purchase a listed number stands for; the list names no operator ("": the order's own)."""
    return Purchase(upstream_id=item.upstream_id, phone=item.phone, cost=listed_cost(item), operator="")


def _complete(listing: list[ActiveActivation], siblings) -> bool:
    """Whether the list shows every number our orders hold live at this account."""
    listed = {item.upstream_id for item in listing}
    held = Activation.objects.filter(provider__in=siblings, state__in=HELD_LIVE).exclude(upstream_id="")
    return not held.exclude(upstream_id__in=list(listed)).exists()


def _same_codes(item: ActiveActivation, service_code: str, country_code: int) -> bool:
    """An entry is of these codes unless it names others."""
    service, country = item.raw.get("serviceCode"), item.raw.get("countryCode")
    return (service in (None, "") or str(service) == service_code) and (
        country in (None, "") or str(country) == str(country_code)
    )


def _rivals(activation: Activation, siblings, *, by_service: bool) -> bool:
    """Whether another purchase at this account could own an unowned number: one in flight, or
    one whose outcome is unknown and whose number is not known yet. `by_service`: the list names
    the codes bought with, so at the same provider row (one mapping table) only a purchase of
    the same service can own an entry of this order's codes, unless a mapping row could give two
    of our services one upstream code."""
    others = (
        Activation.objects.filter(provider__in=siblings)
        .exclude(pk=activation.pk)
        .filter(Q(state=State.REQUESTING) | Q(state=State.UNKNOWN, upstream_pending=Pending.RECONCILE, upstream_id=""))
    )
    if by_service and not ServiceMapping.objects.filter(provider_id=activation.provider_id).exists():
        others = others.filter(~Q(provider_id=activation.provider_id) | Q(service_id=activation.service_id))
    return others.exists()


def providers_to_reconcile() -> list[int]:
    """Providers with unknown orders to settle, or unowned numbers still being watched."""
    with_unknown = Activation.objects.filter(state=State.UNKNOWN, upstream_pending=Pending.RECONCILE).values_list(
        "provider_id", flat=True
    )
    watched = UpstreamOrphan.objects.filter(resolved_at__isnull=True).values_list("provider_id", flat=True)
    return sorted(set(with_unknown.distinct().order_by()) | set(watched.distinct().order_by()))
