"""The admin's first page (docs/operators-guide.md, "Dashboard"): what an operator looks at
first. `dashboard(user)` gathers it in a bounded number of queries, whatever the size of the
history: the money figures come from the report engine (the rollup for complete days), the rest
from indexed, limited queries.

Staff without `reports.view_reports` see the dashboard without money: no revenue, margin or
losses, no balances, no drift amounts (a drift warning names the provider only).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from reports.figures import Row, period_totals, tz
from reports.pages import can_view_reports
from reports.reconcile import reconcile
from reseller.models import Activation, EmailOrder, OrderKind, PurchaseAttempt, Rental
from upstream.health import circuit_state, health_text, low_balance, sync_problem
from upstream.models import Provider

RECENT = 8  # rows per list of recent failures
FAILED_ATTEMPTS = (
    PurchaseAttempt.Outcome.ERROR,
    PurchaseAttempt.Outcome.UNAVAILABLE,
    PurchaseAttempt.Outcome.UNKNOWN,
)


@dataclass(frozen=True)
class ProviderLine:
    provider: Provider
    circuit: str
    low_balance: bool
    health: str  # "unknown" until traffic measured it (upstream.health.health_text)
    sync_error: str  # the newest catalogue-sync or balance error not followed by a success


@dataclass(frozen=True)
class Failure:
    kind: str
    pk: int
    state: str
    provider: str
    at: object
    reason: str
    url: str


def _live() -> list[tuple[str, int]]:
    counts = dict.fromkeys((OrderKind.ACTIVATION, OrderKind.CHEAP, OrderKind.RENTAL, OrderKind.EMAIL), 0)
    for row in Activation.objects.filter(state__in=Activation.LIVE_STATES).values("kind").annotate(n=Count("id")):
        counts[row["kind"]] = counts.get(row["kind"], 0) + row["n"]
    counts[OrderKind.RENTAL] = Rental.objects.filter(state__in=Rental.LIVE_STATES).count()
    counts[OrderKind.EMAIL] = EmailOrder.objects.filter(state__in=EmailOrder.LIVE_STATES).count()
    return [(OrderKind(kind).value, n) for kind, n in counts.items()]


def _provider_line(p: Provider) -> ProviderLine:
    return ProviderLine(p, circuit_state(p), low_balance(p), health_text(p), sync_problem(p))


def _failures(provider_names: dict[int, str]) -> tuple[list[Failure], list]:
    ids = list(provider_names)
    orders = []
    for model, kind_of, url in (
        (Activation, lambda o: o.kind, "admin:reseller_activation_change"),
        (Rental, lambda o: OrderKind.RENTAL, "admin:reseller_rental_change"),
        (EmailOrder, lambda o: OrderKind.EMAIL, "admin:reseller_emailorder_change"),
    ):
        rows = (
            model.objects.filter(provider_id__in=ids, state__in=["failed", "unknown"])
            .only("id", "state", "provider_id", "created_at", "failure", *(["kind"] if model is Activation else []))
            .order_by("-id")[:RECENT]
        )
        for o in rows:
            orders.append(
                Failure(
                    kind_of(o),
                    o.pk,
                    o.state,
                    provider_names.get(o.provider_id, str(o.provider_id)),
                    o.created_at,
                    (o.failure or "")[:200],
                    url,
                )
            )
    orders.sort(key=lambda f: f.at, reverse=True)
    attempts = list(
        PurchaseAttempt.objects.filter(outcome__in=FAILED_ATTEMPTS, provider_id__in=ids).order_by("-created_at")[
            :RECENT
        ]
    )
    for a in attempts:
        a.provider_name = provider_names.get(a.provider_id, str(a.provider_id))
    return orders[:RECENT], attempts


def dashboard(user) -> dict:
    """The dashboard's context: money figures only for `can_view_reports(user)`."""
    money = can_view_reports(user)
    now = timezone.now()
    today = now.astimezone(tz()).date()
    data: dict = {"money": money, "now": now}
    if money:
        data["today"] = period_totals(today, today)
        data["month"] = period_totals(today.replace(day=1), today)
    data["live"] = _live()
    data["live_total"] = sum(n for _, n in data["live"])
    providers = list(Provider.objects.order_by("slot"))
    lines = [_provider_line(p) for p in providers]
    data["providers"] = lines
    warnings = []
    for line in lines:
        p = line.provider
        if line.low_balance and p.enabled:
            text = f"{p}: low upstream balance"
            if money:
                text += f" {p.balance} {p.currency} (threshold {p.low_balance_threshold})"
            warnings.append(("low-balance", text))
        if line.circuit != "closed" and p.enabled:
            warnings.append(("circuit", f"{p}: circuit {line.circuit}"))
        if line.sync_error and p.enabled:
            warnings.append(("sync", f"{p}: {line.sync_error[:300]}"))
    hours = settings.DASHBOARD_RECONCILE_HOURS
    for rec in reconcile(since=now - timedelta(hours=hours), until=now, providers=providers):
        if rec.flagged:
            text = f"{rec.provider}: upstream balance drift in the last {hours} h"
            if money:
                text += f" ({rec.drift} PKR beyond an exposure of {rec.exposure} PKR)"
            warnings.append(("drift", text))
    data["warnings"] = warnings
    data["failures"], data["attempts"] = _failures({p.pk: str(p) for p in providers})
    return data


def money_cells(row: Row) -> list[tuple[str, object]]:
    return [
        ("revenue", row.revenue),
        ("margin", row.margin),
        ("margin %", row.margin_pct if row.margin_pct is not None else "-"),
        ("losses", row.losses),
        ("refunds", row.refunds),
        ("orders", row.orders),
    ]
