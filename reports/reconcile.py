"""Upstream reconciliation (docs/operators-guide.md, "Reconciliation"): per provider, how the
balance the upstream reports moved between two consecutive snapshots
(`upstream.ProviderBalanceSnapshot`) against what the ledger booked on that provider's float
account (`provider:<id>`) in the same time.

For an interval (t1, t2] of one provider, all in PKR:

- `fell`     = balance_pkr(t1) - balance_pkr(t2): what the upstream's balance fell by;
- `charged`  = upstream_cost + loss transfers out of the float - upstream_refund - provider_funding
  transfers into it, created in (t1, t2]: what the ledger says the upstream charged us, net of
  what it gave back and of the funding we booked;
- `drift`    = fell - charged (positive: the upstream took more than we booked);
- `exposure` = the cost (`cost_pkr`) of this provider's orders whose upstream charge the ledger
  cannot know yet: live (unresolved) at t1 or at t2 -- the upstream charges at purchase, the ledger
  at the first code, and a cancel is refunded -- and those in state `unknown` created in (t1, t2];
  failed purchases never count;
- a **top-up on the upstream side** (money paid to the upstream, not booked as provider funding)
  shows as a balance rise the ledger does not explain: when the balance rose and the drift is
  below -(exposure + tolerance), the interval is a `topup` and its inferred amount is `-drift`;
  it is not a drift. Booking the funding (a `provider_funding` transfer) makes it explained.
- `flagged` when |drift| > exposure + RECONCILE_TOLERANCE_PKR and the interval is not a top-up.

Everything is summed in SQL: one query for the intervals with their ledger sums, one for their
exposure, whatever the number of transfers (portable SQL: PostgreSQL and the embedded SQLite).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection

from billing.models import LedgerAccount, Transfer
from billing.money import ZERO
from reseller.models import Activation, EmailOrder, Rental
from upstream.models import Provider, ProviderBalanceSnapshot

OK, DRIFT, TOPUP = "ok", "drift", "top-up"
MAX_INTERVALS = 500  # per provider and page: the most recent


@dataclass(frozen=True)
class Interval:
    provider_id: int
    start: datetime
    end: datetime
    balance_start: Decimal  # provider currency
    balance_end: Decimal
    balance_start_pkr: Decimal
    balance_end_pkr: Decimal
    fell: Decimal
    upstream_cost: Decimal
    upstream_refund: Decimal
    losses: Decimal
    funding: Decimal
    charged: Decimal
    drift: Decimal
    exposure: Decimal
    status: str  # ok, drift, top-up
    topup: Decimal  # inferred top-up of a top-up interval, else 0

    @property
    def flagged(self) -> bool:
        return self.status == DRIFT


@dataclass(frozen=True)
class ProviderReconciliation:
    provider: Provider
    intervals: list[Interval]  # oldest first
    fell: Decimal
    charged: Decimal
    topups: Decimal  # inferred top-ups, summed
    drift: Decimal  # sum of the drift of intervals that are not top-ups
    exposure: Decimal  # of the whole window (first to last snapshot)
    flagged_intervals: int

    @property
    def flagged(self) -> bool:
        return self.flagged_intervals > 0 or abs(self.drift) > self.exposure + tolerance()


def tolerance() -> Decimal:
    return Decimal(str(settings.RECONCILE_TOLERANCE_PKR))


def _status(fell: Decimal, drift: Decimal, exposure: Decimal) -> tuple[str, Decimal]:
    bound = exposure + tolerance()
    if abs(drift) <= bound:
        return OK, ZERO
    if fell < 0 and drift < -bound:
        return TOPUP, -drift
    return DRIFT, ZERO


def _snapshots_cte(providers: int) -> str:
    """The intervals between consecutive snapshots of the window (the most recent MAX_INTERVALS
    per provider): `iv(provider_id, start_at, end_at, balance_start, balance_end, start_pkr, end_pkr)`.
    Portable SQL (PostgreSQL and the embedded run's SQLite)."""
    s = ProviderBalanceSnapshot._meta.db_table
    marks = ", ".join(["%s"] * providers)
    return f"""
    WITH snaps AS (
        SELECT provider_id, taken_at AS end_at, balance AS balance_end, balance_pkr AS end_pkr,
               LAG(taken_at) OVER (PARTITION BY provider_id ORDER BY taken_at, id) AS start_at,
               LAG(balance) OVER (PARTITION BY provider_id ORDER BY taken_at, id) AS balance_start,
               LAG(balance_pkr) OVER (PARTITION BY provider_id ORDER BY taken_at, id) AS start_pkr
        FROM {s}
        WHERE provider_id IN ({marks}) AND taken_at >= %s AND taken_at <= %s
    ), numbered AS (
        SELECT snaps.*, ROW_NUMBER() OVER (PARTITION BY provider_id ORDER BY end_at DESC) AS recent
        FROM snaps WHERE start_at IS NOT NULL
    ), iv AS (SELECT * FROM numbered WHERE recent <= %s)
    """


def _intervals_sql(providers: int) -> str:
    t, a = Transfer._meta.db_table, LedgerAccount._meta.db_table
    k = Transfer.Kind

    def total(kind, side):
        return f"COALESCE(SUM(CASE WHEN t.kind = '{kind}' AND t.{side}_id = acc.id THEN t.amount END), 0)"

    return f"""{_snapshots_cte(providers)}
    SELECT iv.provider_id, iv.start_at, iv.end_at, iv.balance_start, iv.balance_end, iv.start_pkr, iv.end_pkr,
           {total(k.UPSTREAM_COST, "source")}, {total(k.UPSTREAM_REFUND, "destination")},
           {total(k.LOSS, "source")}, {total(k.PROVIDER_FUNDING, "destination")}
    FROM iv
    LEFT JOIN {a} acc ON acc.code = 'provider:' || CAST(iv.provider_id AS TEXT)
    LEFT JOIN {t} t ON (t.source_id = acc.id OR t.destination_id = acc.id)
                   AND t.created_at > iv.start_at AND t.created_at <= iv.end_at
                   AND t.created_at >= %s AND t.created_at <= %s  -- the window: the created_at index
    GROUP BY iv.provider_id, iv.start_at, iv.end_at, iv.balance_start, iv.balance_end, iv.start_pkr, iv.end_pkr
    ORDER BY iv.provider_id, iv.end_at
    """


def _exposure_sql(providers: int) -> str:
    """The exposure of every interval (whole = 0) and of each provider's window (whole = 1)."""
    marks = ", ".join(["%s"] * providers)
    orders = " UNION ALL ".join(
        f"SELECT provider_id, created_at, ended_at, state, cost_pkr FROM {model._meta.db_table}"
        f" WHERE provider_id IN ({marks}) AND state <> 'failed' AND cost_pkr IS NOT NULL AND created_at <= %s"
        " AND (ended_at IS NULL OR ended_at > %s OR state = 'unknown')"
        for model in (Activation, Rental, EmailOrder)
    )
    return f"""{_snapshots_cte(providers)}
    , spans AS (
        SELECT provider_id, start_at, end_at, 0 AS whole FROM iv
        UNION ALL
        SELECT provider_id, MIN(start_at), MAX(end_at), 1 FROM iv GROUP BY provider_id
    ), o AS ({orders})
    SELECT spans.provider_id, spans.start_at, spans.end_at, spans.whole, COALESCE(SUM(o.cost_pkr), 0)
    FROM spans JOIN o ON o.provider_id = spans.provider_id AND (
        (o.state = 'unknown' AND o.created_at > spans.start_at AND o.created_at <= spans.end_at)
        OR (o.state <> 'unknown' AND o.created_at <= spans.start_at
            AND (o.ended_at IS NULL OR o.ended_at > spans.start_at))
        OR (o.state <> 'unknown' AND o.created_at <= spans.end_at
            AND (o.ended_at IS NULL OR o.ended_at > spans.end_at))
    )
    GROUP BY spans.provider_id, spans.start_at, spans.end_at, spans.whole
    """


def _at(value) -> datetime:
    """A timestamp as the database returns it (SQLite: UTC text from a window function)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _dec(value, places: str = "0.01") -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal(places))


def reconcile(*, since: datetime, until: datetime, providers=None) -> list[ProviderReconciliation]:
    """The reconciliation of every provider (or those given) over the snapshots in [since, until]."""
    providers = list(providers if providers is not None else Provider.objects.order_by("slot"))
    ids = [p.pk for p in providers]
    if not ids:
        return []
    adapt = connection.ops.adapt_datetimefield_value
    cte = [*ids, adapt(since), adapt(until), MAX_INTERVALS]
    orders = [*ids, adapt(until), adapt(since)] * 3
    with connection.cursor() as cursor:
        cursor.execute(_intervals_sql(len(ids)), [*cte, adapt(since), adapt(until)])
        rows = cursor.fetchall()
        cursor.execute(_exposure_sql(len(ids)), cte + orders)
        exposed = cursor.fetchall()
    exposures = {(pid, _at(s), _at(e), whole): _dec(v) for pid, s, e, whole, v in exposed}
    windows = {pid: (s, e) for pid, s, e, whole in exposures if whole}
    by_provider: dict[int, list[Interval]] = {pk: [] for pk in ids}
    for pid, start, end, b1, b2, p1, p2, cost, refund, loss, funding in rows:
        start, end = _at(start), _at(end)
        p1, p2 = _dec(p1), _dec(p2)
        cost, refund, loss, funding = _dec(cost), _dec(refund), _dec(loss), _dec(funding)
        fell = p1 - p2
        charged = cost + loss - refund - funding
        drift = fell - charged
        exposure = exposures.get((pid, start, end, 0), ZERO)
        status, topup = _status(fell, drift, exposure)
        by_provider[pid].append(
            Interval(
                provider_id=pid,
                start=start,
                end=end,
                balance_start=_dec(b1, "0.0001"),
                balance_end=_dec(b2, "0.0001"),
                balance_start_pkr=p1,
                balance_end_pkr=p2,
                fell=fell,
                upstream_cost=cost,
                upstream_refund=refund,
                losses=loss,
                funding=funding,
                charged=charged,
                drift=drift,
                exposure=exposure,
                status=status,
                topup=topup,
            )
        )
    for pid, intervals in by_provider.items():  # a window with no exposure has no exposure row
        if intervals and pid not in windows:
            windows[pid] = (intervals[0].start, intervals[-1].end)
    result = []
    for provider in providers:
        intervals = by_provider[provider.pk]
        window = windows.get(provider.pk)
        result.append(
            ProviderReconciliation(
                provider=provider,
                intervals=intervals,
                fell=sum((i.fell for i in intervals), ZERO),
                charged=sum((i.charged for i in intervals), ZERO),
                topups=sum((i.topup for i in intervals), ZERO),
                drift=sum((i.drift for i in intervals if i.status != TOPUP), ZERO),
                exposure=exposures.get((provider.pk, *window, 1), ZERO) if window else ZERO,
                flagged_intervals=sum(1 for i in intervals if i.flagged),
            )
        )
    return result
