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
exposure, whatever the number of transfers.
"""

from dataclasses import dataclass
from datetime import datetime
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


def _intervals_sql() -> str:
    s, t, a = ProviderBalanceSnapshot._meta.db_table, Transfer._meta.db_table, LedgerAccount._meta.db_table
    k = Transfer.Kind
    return f"""
    WITH snaps AS (
        SELECT provider_id, taken_at AS end_at, balance AS balance_end, balance_pkr AS end_pkr,
               LAG(taken_at) OVER w AS start_at, LAG(balance) OVER w AS balance_start,
               LAG(balance_pkr) OVER w AS start_pkr
        FROM {s}
        WHERE provider_id = ANY(%(providers)s) AND taken_at >= %(since)s AND taken_at <= %(until)s
        WINDOW w AS (PARTITION BY provider_id ORDER BY taken_at, id)
    ), iv AS (
        SELECT * FROM (
            SELECT snaps.*, ROW_NUMBER() OVER (PARTITION BY provider_id ORDER BY end_at DESC) AS recent
            FROM snaps WHERE start_at IS NOT NULL
        ) numbered WHERE recent <= %(limit)s
    )
    SELECT iv.provider_id, iv.start_at, iv.end_at, iv.balance_start, iv.balance_end, iv.start_pkr, iv.end_pkr,
           COALESCE(SUM(t.amount) FILTER (WHERE t.kind = '{k.UPSTREAM_COST}' AND t.source_id = acc.id), 0),
           COALESCE(SUM(t.amount) FILTER (WHERE t.kind = '{k.UPSTREAM_REFUND}' AND t.destination_id = acc.id), 0),
           COALESCE(SUM(t.amount) FILTER (WHERE t.kind = '{k.LOSS}' AND t.source_id = acc.id), 0),
           COALESCE(SUM(t.amount) FILTER (WHERE t.kind = '{k.PROVIDER_FUNDING}' AND t.destination_id = acc.id), 0)
    FROM iv
    LEFT JOIN {a} acc ON acc.code = 'provider:' || iv.provider_id::text
    LEFT JOIN {t} t ON (t.source_id = acc.id OR t.destination_id = acc.id)
                   AND t.created_at > iv.start_at AND t.created_at <= iv.end_at
    GROUP BY iv.provider_id, iv.start_at, iv.end_at, iv.balance_start, iv.balance_end, iv.start_pkr, iv.end_pkr
    ORDER BY iv.provider_id, iv.end_at
    """


def _exposure_sql() -> str:
    """Exposure of each (provider, start, end) of the `spans` VALUES list."""
    parts = []
    for model in (Activation, Rental, EmailOrder):
        parts.append(
            f"SELECT provider_id, created_at, ended_at, state, cost_pkr FROM {model._meta.db_table}"
            " WHERE provider_id = ANY(%(providers)s) AND state <> 'failed' AND created_at <= %(until)s"
            " AND (ended_at IS NULL OR ended_at > %(since)s OR state = 'unknown')"
        )
    orders = " UNION ALL ".join(parts)
    return f"""
    WITH spans(provider_id, start_at, end_at) AS (
        SELECT * FROM UNNEST(%(span_providers)s::bigint[], %(span_starts)s::timestamptz[], %(span_ends)s::timestamptz[])
    ), o AS ({orders})
    SELECT spans.provider_id, spans.start_at, spans.end_at, COALESCE(SUM(o.cost_pkr), 0)
    FROM spans JOIN o ON o.provider_id = spans.provider_id AND (
        (o.state = 'unknown' AND o.created_at > spans.start_at AND o.created_at <= spans.end_at)
        OR (o.state <> 'unknown' AND o.created_at <= spans.start_at
            AND (o.ended_at IS NULL OR o.ended_at > spans.start_at))
        OR (o.state <> 'unknown' AND o.created_at <= spans.end_at
            AND (o.ended_at IS NULL OR o.ended_at > spans.end_at))
    )
    GROUP BY spans.provider_id, spans.start_at, spans.end_at
    """


def _exposures(spans: list[tuple[int, datetime, datetime]], providers: list[int], since, until) -> dict:
    if not spans:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _exposure_sql(),
            {
                "providers": providers,
                "since": since,
                "until": until,
                "span_providers": [p for p, _, _ in spans],
                "span_starts": [s for _, s, _ in spans],
                "span_ends": [e for _, _, e in spans],
            },
        )
        return {(p, s, e): Decimal(v) for p, s, e, v in cursor.fetchall()}


def reconcile(*, since: datetime, until: datetime, providers=None) -> list[ProviderReconciliation]:
    """The reconciliation of every provider (or those given) over the snapshots in [since, until]."""
    providers = list(providers if providers is not None else Provider.objects.order_by("slot"))
    ids = [p.pk for p in providers]
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_intervals_sql(), {"providers": ids, "since": since, "until": until, "limit": MAX_INTERVALS})
        rows = cursor.fetchall()
    windows: dict[int, tuple[datetime, datetime]] = {}
    for row in rows:
        first, last = windows.get(row[0], (row[1], row[2]))
        windows[row[0]] = (min(first, row[1]), max(last, row[2]))
    spans = [(r[0], r[1], r[2]) for r in rows] + [(p, s, e) for p, (s, e) in windows.items()]
    exposures = _exposures(spans, ids, since, until)
    by_provider: dict[int, list[Interval]] = {pk: [] for pk in ids}
    for pid, start, end, b1, b2, p1, p2, cost, refund, loss, funding in rows:
        fell = Decimal(p1) - Decimal(p2)
        charged = Decimal(cost) + Decimal(loss) - Decimal(refund) - Decimal(funding)
        drift = fell - charged
        exposure = exposures.get((pid, start, end), ZERO)
        status, topup = _status(fell, drift, exposure)
        by_provider[pid].append(
            Interval(
                provider_id=pid,
                start=start,
                end=end,
                balance_start=b1,
                balance_end=b2,
                balance_start_pkr=p1,
                balance_end_pkr=p2,
                fell=fell,
                upstream_cost=Decimal(cost),
                upstream_refund=Decimal(refund),
                losses=Decimal(loss),
                funding=Decimal(funding),
                charged=charged,
                drift=drift,
                exposure=exposure,
                status=status,
                topup=topup,
            )
        )
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
                exposure=exposures.get((provider.pk, *window), ZERO) if window else ZERO,
                flagged_intervals=sum(1 for i in intervals if i.flagged),
            )
        )
    return result
