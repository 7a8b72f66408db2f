"""Every ledger invariant, checked from the rows themselves (`manage.py ledger_verify`).

Each run's outcome is kept in `LedgerVerifyRun` (one row), which the metrics read."""

import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from billing.models import Hold, LedgerAccount, LedgerVerifyRun, Transfer
from billing.money import ZERO

# Which account kinds each transfer kind may move money between.
TRANSFER_SHAPES = {
    Transfer.Kind.TOPUP: ({LedgerAccount.Kind.CASH}, {LedgerAccount.Kind.WALLET}),
    Transfer.Kind.ADJUSTMENT: (
        {LedgerAccount.Kind.ADJUSTMENTS, LedgerAccount.Kind.WALLET},
        {LedgerAccount.Kind.ADJUSTMENTS, LedgerAccount.Kind.WALLET},
    ),
    Transfer.Kind.CAPTURE: ({LedgerAccount.Kind.WALLET}, None),
    Transfer.Kind.UPSTREAM_COST: ({LedgerAccount.Kind.PROVIDER_FLOAT}, {LedgerAccount.Kind.UPSTREAM_COST}),
    Transfer.Kind.LOSS: ({LedgerAccount.Kind.PROVIDER_FLOAT}, {LedgerAccount.Kind.LOSSES}),
    Transfer.Kind.REFUND: ({LedgerAccount.Kind.REFUNDS}, {LedgerAccount.Kind.WALLET}),
    Transfer.Kind.UPSTREAM_REFUND: ({LedgerAccount.Kind.UPSTREAM_COST}, {LedgerAccount.Kind.PROVIDER_FLOAT}),
}


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str


@dataclass
class Report:
    accounts: int = 0
    transfers: int = 0
    holds: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, check: str, detail: str) -> None:
        self.violations.append(Violation(check, detail))

    def render(self) -> str:
        head = f"{self.accounts} accounts, {self.transfers} transfers, {self.holds} holds checked"
        if self.ok:
            return f"ledger_verify: OK ({head})"
        lines = [f"ledger_verify: {len(self.violations)} VIOLATION(S) ({head})"]
        lines += [f"  [{v.check}] {v.detail}" for v in self.violations]
        return "\n".join(lines)


def _sums(qs, key: str) -> dict[int, Decimal]:
    return {row[key]: row["s"] for row in qs.values(key).annotate(s=Sum("amount")).order_by()}


def ledger_verify() -> Report:
    started = time.monotonic()
    report = _verify()
    LedgerVerifyRun.objects.update_or_create(
        pk=LedgerVerifyRun.SINGLETON,
        defaults={
            "ok": report.ok,
            "violations": len(report.violations),
            "finished_at": timezone.now(),
            "duration_seconds": time.monotonic() - started,
        },
    )
    return report


def _verify() -> Report:
    report = Report()
    now = timezone.now()
    incoming = _sums(Transfer.objects.all(), "destination")
    outgoing = _sums(Transfer.objects.all(), "source")
    open_held = _sums(Hold.objects.filter(status=Hold.Status.OPEN), "account")

    total_cached = ZERO
    kinds: dict[int, str] = {}
    for acc in LedgerAccount.objects.order_by("pk").iterator():
        report.accounts += 1
        kinds[acc.pk] = acc.kind
        total_cached += acc.balance
        recomputed = incoming.get(acc.pk, ZERO) - outgoing.get(acc.pk, ZERO)
        if acc.balance != recomputed:
            report.add("balance", f"account {acc.code}: cached balance {acc.balance} != transfers {recomputed}")
        held = open_held.get(acc.pk, ZERO)
        if acc.held != held:
            report.add("held", f"account {acc.code}: cached held {acc.held} != open holds {held}")
        if not acc.allow_negative and (acc.balance < 0 or acc.balance - acc.held < 0):
            report.add("negative", f"account {acc.code}: balance {acc.balance}, held {acc.held}")
        if acc.kind == LedgerAccount.Kind.WALLET and acc.allow_negative:
            report.add("negative", f"wallet {acc.code} allows a negative balance")
    if total_cached != 0:
        report.add("zero-sum", f"sum of all account balances is {total_cached}, not 0")

    # Transfers: shape by kind, positive, distinct accounts.
    report.transfers = Transfer.objects.count()
    for t in Transfer.objects.filter(Q(amount__lte=0) | Q(source=F("destination"))).values("pk"):
        report.add("transfer", f"transfer #{t['pk']} has a non-positive amount or one account on both sides")
    for t in Transfer.objects.values("pk", "kind", "source", "destination", "hold").iterator():
        shape = TRANSFER_SHAPES.get(t["kind"])
        if shape:
            src_ok = kinds.get(t["source"]) in shape[0]
            dst_ok = shape[1] is None or kinds.get(t["destination"]) in shape[1]
            if not (src_ok and dst_ok):
                report.add(
                    "transfer-shape",
                    f"transfer #{t['pk']} ({t['kind']}) moves {kinds.get(t['source'])} -> "
                    f"{kinds.get(t['destination'])}",
                )
        if (t["kind"] == Transfer.Kind.CAPTURE) != (t["hold"] is not None):
            report.add("transfer-hold", f"transfer #{t['pk']} ({t['kind']}) and its hold link disagree")

    # Money moved for an order names it (docs/ledger.md, order reference).
    unnamed = Transfer.objects.filter(kind=Transfer.Kind.UPSTREAM_COST, order_kind="").values_list("pk", flat=True)
    for pk in unnamed:
        report.add("order-ref", f"transfer #{pk} (upstream_cost) names no order")

    # Holds: each resolves once, captures match their transfer, none forgotten.
    report.holds = Hold.objects.count()
    for h in Hold.objects.filter(status=Hold.Status.CAPTURED).select_related("capture_transfer").iterator():
        t = getattr(h, "capture_transfer", None)
        if t is None:
            report.add("hold", f"hold #{h.pk} is captured but has no capture transfer")
        elif t.amount != h.captured_amount or t.source_id != h.account_id:
            report.add("hold", f"hold #{h.pk} captured {h.captured_amount} but its transfer #{t.pk} moved {t.amount}")
        elif (t.order_kind, t.order_pk) != (h.order_kind, h.order_pk):
            report.add("order-ref", f"hold #{h.pk} is for {h.order} but its capture #{t.pk} names another order")
        if h.captured_amount is None or not (0 < h.captured_amount <= h.amount):
            report.add("hold", f"hold #{h.pk} captured {h.captured_amount} of {h.amount}")
    stray = Hold.objects.exclude(status=Hold.Status.CAPTURED).annotate(n=Count("capture_transfer")).filter(n__gt=0)
    for h in stray.values("pk", "status"):
        report.add("hold", f"hold #{h['pk']} is {h['status']} but has a capture transfer")
    overdue = now - timedelta(seconds=settings.HOLD_SWEEP_GRACE_SECONDS)
    for h in Hold.objects.filter(status=Hold.Status.OPEN, expires_at__lt=overdue).values("pk", "expires_at"):
        report.add("hold-expiry", f"hold #{h['pk']} is still open, expired at {h['expires_at'].isoformat()}")
    return report
