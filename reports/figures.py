"""The report engine: the ledger's figures by period, order kind, service, country, provider or
customer (docs/reports.md has every definition).

Everything is read from billing's Transfer and Hold rows, never from the amounts the order rows
copy; an order's table is joined only to learn its service, country, provider and customer, by
the (order_kind, order_pk) reference every hold and transfer carries. All sums are SQL:

- `facts_sql()` turns the transfers and holds of a time range into rows at the finest grain
  (day, kind, service, e-mail service, country, provider, customer) with every measure;
- the daily rollup (`reports.rollup`) stores exactly those rows in `reports_dailyfigure`;
- `report()` sums that grain, from the rollup, from the ledger, or both (`source="auto"`: the
  rollup for the complete days it covers, the ledger for the rest), by the grouping asked for.
The two sources run the same aggregate over the same grain, so they cannot disagree.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from accounts.models import Customer
from billing.models import Hold, LedgerAccount, Transfer
from billing.money import PKR_QUANTUM, ZERO
from reseller.models import Activation, EmailOrder, OrderKind, Rental, RentalRenewal
from upstream.models import Country, EmailService, Provider, Service

GROUPINGS = ("day", "week", "month", "service", "country", "provider", "customer", "kind")
KINDS = (OrderKind.ACTIVATION, OrderKind.CHEAP, OrderKind.RENTAL, OrderKind.EMAIL)  # a renewal counts as rental
SOURCES = ("auto", "ledger", "rollup")
FILTERS = ("service", "country", "provider", "customer")
NO_ORDER = "(no order)"
NONE_LABEL = "(none)"

# (field, heading) of every figure a Row carries, in the order tables and CSV show them.
MEASURES = (
    ("revenue", "revenue"),
    ("upstream_cost", "upstream cost"),
    ("margin", "margin"),
    ("margin_pct", "margin %"),
    ("refunds", "refunds"),
    ("losses", "losses"),
    ("topups", "top-ups"),
    ("corrections", "corrections"),
    ("orders", "orders"),
    ("succeeded", "succeeded"),
    ("success_rate", "success %"),
)
MONEY_MEASURES = ("revenue", "upstream_cost", "margin", "refunds", "losses", "topups", "corrections")
# The columns of the grain (facts_sql() and reports_dailyfigure), summed by every report.
SUMMED = (
    "revenue",
    "upstream_cost",
    "refunds_released",
    "refunds_paid",
    "losses",
    "topups",
    "corrections",
    "orders",
    "succeeded",
    "resolved",
)
DIMENSIONS = ("day", "kind", "service_id", "email_service_id", "country_id", "provider_id", "customer_id")

MAX_PERIOD_ROWS = 10_000  # ~27 years by day: longer is a typo (0001..9998 by day would be millions of rows)
_PERIOD_DAYS = {"day": 1, "week": 7, "month": 28}


def too_many_periods(date_from: date, date_to: date, by: str) -> bool:
    """A period grouping (day, week, month) of the range would list more than MAX_PERIOD_ROWS rows."""
    return by in _PERIOD_DAYS and (date_to - date_from).days // _PERIOD_DAYS[by] >= MAX_PERIOD_ROWS


RESIZED = "resized to %"  # billing.services.hold_resize's release reason: not a refund, the order goes on


class ReportError(ValueError):
    """A report asked for with a bad argument: one line for the operator."""


@dataclass(frozen=True)
class Row:
    """One line of a report. Money: Decimal PKR with two places. `margin` = revenue - refunds of
    paid orders - upstream cost; `margin_pct` = margin / revenue (None when revenue is 0);
    `success_rate` = succeeded / resolved orders, in % (None when none resolved)."""

    key: str
    label: str
    revenue: Decimal
    upstream_cost: Decimal
    margin: Decimal
    margin_pct: Decimal | None
    refunds: Decimal
    losses: Decimal
    topups: Decimal
    corrections: Decimal
    orders: int
    succeeded: int
    success_rate: Decimal | None


@dataclass(frozen=True)
class Report:
    date_from: date
    date_to: date
    by: str
    kind: str | None
    filters: dict
    source: str  # what was asked: auto, ledger or rollup
    rows: list[Row]
    totals: Row
    rollup_days: int = 0  # how many of the days were read from the rollup
    columns: tuple = field(default=MEASURES)


def _table(model) -> str:
    return model._meta.db_table


# What differs between PostgreSQL (production, the suite) and SQLite (the embedded run, where
# datetimes are UTC text and Django registers its own date functions).
_DAY_OF = {
    "postgresql": "(ev0.at AT TIME ZONE %(tz)s)::date",
    "sqlite": "django_datetime_cast_date(ev0.at, %(tz)s, 'UTC')",
}


def _vendor() -> str:
    return "sqlite" if connection.vendor == "sqlite" else "postgresql"


def _sums(alias: str) -> str:
    return ", ".join(f"SUM({alias}.{c}) AS {c}" for c in SUMMED)


def _facts_sql(vendor: str) -> str:
    """Rows of (DIMENSIONS, SUMMED) for the transfers and holds of [%(start)s, %(end)s)."""
    t, h, acc = _table(Transfer), _table(Hold), _table(LedgerAccount)
    pf = LedgerAccount.Kind.PROVIDER_FLOAT
    # Inner: the events (transfers, holds placed, holds resolved) summed per day and order, so the
    # order tables are joined once per order and day; the account's customer or provider only
    # for events without an order (top-ups, corrections, orphan losses), the order's otherwise.
    # Outer: per day and the order's dimensions.
    return f"""
    SELECT ev.day,
           CASE WHEN ev.order_kind = 'renewal' THEN 'rental' ELSE ev.order_kind END AS kind,
           COALESCE(a.service_id, r.service_id, rr_r.service_id) AS service_id,
           e.service_id AS email_service_id,
           COALESCE(a.country_id, r.country_id, rr_r.country_id) AS country_id,
           COALESCE(a.provider_id, r.provider_id, rr_r.provider_id, e.provider_id, ev.acc_provider) AS provider_id,
           COALESCE(a.customer_id, r.customer_id, rr_r.customer_id, e.customer_id, ev.acc_customer) AS customer_id,
           {_sums("ev")}
    FROM (
      SELECT {_DAY_OF[vendor]} AS day, ev0.order_kind, ev0.order_pk, ev0.acc_customer, ev0.acc_provider,
             {_sums("ev0")}
      FROM (
        SELECT tr.created_at AS at, tr.order_kind, tr.order_pk,
               CASE WHEN tr.order_kind = '' THEN COALESCE(sa.customer_id, da.customer_id) END AS acc_customer,
               CASE WHEN tr.order_kind <> '' THEN NULL
                    WHEN sa.kind = '{pf}' THEN CAST(substr(sa.code, 10) AS BIGINT)
                    WHEN da.kind = '{pf}' THEN CAST(substr(da.code, 10) AS BIGINT) END AS acc_provider,
               CASE WHEN tr.kind = 'capture' AND da.kind = 'revenue' THEN tr.amount ELSE 0 END AS revenue,
               CASE WHEN tr.kind = 'upstream_cost' THEN tr.amount
                    WHEN tr.kind = 'upstream_refund' THEN -tr.amount ELSE 0 END AS upstream_cost,
               0 AS refunds_released,
               CASE WHEN tr.kind = 'refund' THEN tr.amount ELSE 0 END AS refunds_paid,
               CASE WHEN tr.kind = 'loss' THEN tr.amount ELSE 0 END AS losses,
               CASE WHEN tr.kind = 'topup' THEN tr.amount ELSE 0 END AS topups,
               CASE WHEN tr.kind = 'adjustment' AND da.kind = 'wallet' THEN tr.amount
                    WHEN tr.kind = 'adjustment' THEN -tr.amount ELSE 0 END AS corrections,
               0 AS orders, 0 AS succeeded, 0 AS resolved
        FROM {t} tr
        JOIN {acc} sa ON sa.id = tr.source_id
        JOIN {acc} da ON da.id = tr.destination_id
        WHERE tr.created_at >= %(start)s AND tr.created_at < %(end)s
          AND tr.kind IN ('capture', 'upstream_cost', 'upstream_refund', 'refund', 'loss', 'topup', 'adjustment')
        UNION ALL
        SELECT ho.created_at, ho.order_kind, ho.order_pk, NULL, NULL,
               0, 0, 0, 0, 0, 0, 0, 1, 0, 0
        FROM {h} ho
        WHERE ho.created_at >= %(start)s AND ho.created_at < %(end)s AND ho.order_kind <> ''
          AND NOT (ho.status = 'released' AND ho.release_reason LIKE %(resized)s)
        UNION ALL
        SELECT ho.resolved_at, ho.order_kind, ho.order_pk,
               CASE WHEN ho.order_kind = '' THEN wa.customer_id END, NULL,
               0, 0, CASE WHEN ho.status = 'released' THEN ho.amount ELSE 0 END, 0, 0, 0, 0, 0,
               CASE WHEN ho.status = 'captured' AND ho.order_kind <> '' THEN 1 ELSE 0 END,
               CASE WHEN ho.order_kind <> '' THEN 1 ELSE 0 END
        FROM {h} ho JOIN {acc} wa ON wa.id = ho.account_id
        WHERE ho.resolved_at >= %(start)s AND ho.resolved_at < %(end)s
          AND NOT (ho.status = 'released' AND ho.release_reason LIKE %(resized)s)
      ) ev0
      GROUP BY 1, 2, 3, 4, 5
    ) ev
    LEFT JOIN {_table(Activation)} a ON ev.order_kind IN ('activation', 'cheap') AND a.id = ev.order_pk
    LEFT JOIN {_table(Rental)} r ON ev.order_kind = 'rental' AND r.id = ev.order_pk
    LEFT JOIN {_table(RentalRenewal)} rr ON ev.order_kind = 'renewal' AND rr.id = ev.order_pk
    LEFT JOIN {_table(Rental)} rr_r ON rr_r.id = rr.rental_id
    LEFT JOIN {_table(EmailOrder)} e ON ev.order_kind = 'email' AND e.id = ev.order_pk
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    """


# Sort and hash memory of a report's statement (PostgreSQL's default, 4 MB, sends a month of a
# million-order ledger to disk); set for that transaction only.
REPORT_WORK_MEM = "64MB"


def roomy(cursor) -> None:
    """Give the current transaction's report statements REPORT_WORK_MEM (PostgreSQL)."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT set_config('work_mem', %s, true)", [REPORT_WORK_MEM])


def tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """The first instant of `day` in the server's TIME_ZONE."""
    return datetime.combine(day, time.min, tzinfo=tz())


def facts_params(date_from: date, date_to: date) -> dict:
    """Parameters of facts_sql() for the days date_from..date_to (inclusive)."""
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "tz": settings.TIME_ZONE,
        "start": adapt(day_start(date_from)),
        "end": adapt(day_start(date_to + timedelta(days=1))),
        "resized": RESIZED,
    }


_FACTS = {vendor: _facts_sql(vendor) for vendor in _DAY_OF}


def facts_sql() -> str:
    """The grain of the ledger (see the module's doc) in the SQL of the current database."""
    return _FACTS[_vendor()]


_PERIOD_KEY = {
    "postgresql": {
        "day": "to_char(f.day, 'YYYY-MM-DD')",
        "week": "to_char(date_trunc('week', f.day), 'YYYY-MM-DD')",
        "month": "to_char(date_trunc('month', f.day), 'YYYY-MM')",
    },
    "sqlite": {  # days are 'YYYY-MM-DD' text there
        "day": "f.day",
        "week": "date(f.day, '-6 days', 'weekday 1')",
        "month": "substr(f.day, 1, 7)",
    },
}
_GROUP_KEY = {
    "service": "CASE WHEN f.email_service_id IS NOT NULL THEN 'email:' || CAST(f.email_service_id AS TEXT) "
    "ELSE COALESCE(CAST(f.service_id AS TEXT), '') END",
    "country": "COALESCE(CAST(f.country_id AS TEXT), '')",
    "provider": "COALESCE(CAST(f.provider_id AS TEXT), '')",
    "customer": "COALESCE(CAST(f.customer_id AS TEXT), '')",
    "kind": "f.kind",
}


def _group_key(by: str) -> str:
    return _PERIOD_KEY[_vendor()].get(by) or _GROUP_KEY[by]


def _filter_sql(kind: str | None, filters: dict) -> tuple[str, dict]:
    clauses, params = [], {}
    if kind:
        clauses.append("f.kind = %(f_kind)s")
        params["f_kind"] = kind
    for name, value in filters.items():
        if name == "service" and isinstance(value, str) and value.startswith("email:"):
            clauses.append("f.email_service_id = %(f_email_service)s")
            params["f_email_service"] = int(value.removeprefix("email:"))
        else:
            clauses.append(f"f.{name}_id = %(f_{name})s")
            params[f"f_{name}"] = int(value)
    return (" AND ".join(clauses) or "TRUE"), params


def _check(date_from, date_to, by, kind, filters, source) -> dict:
    if not isinstance(date_from, date) or not isinstance(date_to, date):
        raise ReportError("date_from and date_to must be dates")
    if date_from > date_to:
        raise ReportError(f"--from {date_from} is after --to {date_to}")
    if date_to >= date.max:
        raise ReportError(f"--to must be before {date.max}")
    if too_many_periods(date_from, date_to, by):
        raise ReportError(f"a report by {by} lists at most {MAX_PERIOD_ROWS} {by}s: group by a longer period")
    if by not in GROUPINGS:
        raise ReportError(f"unknown grouping {by!r}: use one of {', '.join(GROUPINGS)}")
    if kind not in (None, "", *KINDS):
        raise ReportError(f"unknown order kind {kind!r}: use one of {', '.join(KINDS)}")
    if source not in SOURCES:
        raise ReportError(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
    clean = {}
    for name, value in (filters or {}).items():
        if name not in FILTERS:
            raise ReportError(f"unknown filter {name!r}: use {', '.join(FILTERS)}")
        if value in (None, ""):
            continue
        text = str(value)
        digits = text.removeprefix("email:") if name == "service" else text
        if not (digits.isascii() and digits.isdecimal()) or len(digits) > 18:
            raise ReportError(f"{name} must be an id, got {text!r}")
        clean[name] = text if text.startswith("email:") else int(text)
    return clean


def covered_days(date_from: date, date_to: date) -> set[date]:
    """The days of the range the rollup holds complete: computed after the day had ended
    (plus REPORTS_ROLLUP_GRACE_SECONDS for transactions that were still committing)."""
    from reports.models import RollupDay

    grace = timedelta(seconds=settings.REPORTS_ROLLUP_GRACE_SECONDS)
    return {
        row.day
        for row in RollupDay.objects.filter(day__gte=date_from, day__lte=date_to).only("day", "computed_at")
        if row.computed_at >= day_start(row.day + timedelta(days=1)) + grace
    }


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous (first, last) runs of the sorted days."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(a, b) for a, b in runs]


def _all_days(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def _grain_sources(date_from: date, date_to: date, source: str) -> tuple[list[tuple[str, dict]], int]:
    """(SQL, params) parts whose UNION ALL is the grain of the range, and the rollup day count."""
    from reports.models import DailyFigure

    columns = ", ".join(DIMENSIONS + SUMMED)
    rollup_sql = f"SELECT {columns} FROM {_table(DailyFigure)} WHERE day >= %(r{{n}}_from)s AND day <= %(r{{n}}_to)s"
    if source == "rollup":
        rolled, ledger = [(date_from, date_to)], []
        count = len(_all_days(date_from, date_to))
    elif source == "ledger":
        rolled, ledger, count = [], [(date_from, date_to)], 0
    else:
        covered = covered_days(date_from, date_to)
        rolled = _ranges(covered)
        ledger = _ranges(set(_all_days(date_from, date_to)) - covered)
        count = len(covered)
    parts = []
    adapt = connection.ops.adapt_datefield_value
    for n, (a, b) in enumerate(rolled):
        parts.append((rollup_sql.format(n=n), {f"r{n}_from": adapt(a), f"r{n}_to": adapt(b)}))
    for n, (a, b) in enumerate(ledger):
        sql = facts_sql()
        params = facts_params(a, b)
        for name in params:  # each part has its own parameter names
            sql = sql.replace(f"%({name})s", f"%(l{n}_{name})s")
        parts.append((sql, {f"l{n}_{k}": v for k, v in params.items()}))
    return parts, count


def report(
    *,
    date_from: date,
    date_to: date,
    by: str,
    kind: str | None = None,
    filters: dict | None = None,
    source: str = "auto",
) -> Report:
    """The figures of the days date_from..date_to (inclusive, in the server's TIME_ZONE) grouped
    `by` day|week|month|service|country|provider|customer|kind, for one order `kind` and the
    `filters` (service, country, provider, customer ids; an e-mail service is `email:<id>`)."""
    clean = _check(date_from, date_to, by, kind, filters, source)
    parts, rolled = _grain_sources(date_from, date_to, source)
    where, params = _filter_sql(kind or None, clean)
    for _, part_params in parts:
        params.update(part_params)
    # SELECT * FROM (...) around each part: SQLite takes no parenthesised SELECT in a UNION.
    grain = " UNION ALL ".join(f"SELECT * FROM ({sql}) p{n}" for n, (sql, _) in enumerate(parts))
    sums = ", ".join(f"COALESCE(SUM(f.{c}), 0)" for c in SUMMED)
    sql = f"SELECT {_group_key(by)} AS key, {sums} FROM ({grain}) f WHERE {where} GROUP BY 1"
    with transaction.atomic(), connection.cursor() as cursor:
        roomy(cursor)
        cursor.execute(sql, params)
        fetched = {key: dict(zip(SUMMED, values, strict=True)) for key, *values in cursor.fetchall()}
    rows = _rows(by, fetched, date_from, date_to)
    totals = _row("", "total", _sum(fetched.values()))
    return Report(date_from, date_to, by, kind or None, clean, source, rows, totals, rolled)


def period_totals(date_from: date, date_to: date) -> Row:
    """The totals of the days date_from..date_to (the dashboard's today / this month)."""
    return report(date_from=date_from, date_to=date_to, by="kind").totals


# --- rows ------------------------------------------------------------------------------------


def _sum(sums: Iterable[dict]) -> dict:
    total = dict.fromkeys(SUMMED, 0)
    for one in sums:
        for name in SUMMED:
            total[name] += one[name]
    return total


def _money(value) -> Decimal:
    return Decimal(value).quantize(PKR_QUANTUM) if value else ZERO


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PKR_QUANTUM)


def _row(key: str, label: str, s: dict) -> Row:
    revenue = _money(s["revenue"])
    cost = _money(s["upstream_cost"])
    margin = revenue - _money(s["refunds_paid"]) - cost
    return Row(
        key=key,
        label=label,
        revenue=revenue,
        upstream_cost=cost,
        margin=margin,
        margin_pct=_percent(margin, revenue),
        refunds=_money(s["refunds_released"]) + _money(s["refunds_paid"]),
        losses=_money(s["losses"]),
        topups=_money(s["topups"]),
        corrections=_money(s["corrections"]),
        orders=int(s["orders"]),
        succeeded=int(s["succeeded"]),
        success_rate=_percent(s["succeeded"], s["resolved"]),
    )


def _period_keys(by: str, date_from: date, date_to: date) -> list[str]:
    keys = []
    for day in _all_days(date_from, date_to):
        if by == "day":
            key = day.isoformat()
        elif by == "week":
            key = (day - timedelta(days=day.weekday())).isoformat()
        else:
            key = day.strftime("%Y-%m")
        if not keys or keys[-1] != key:
            keys.append(key)
    return keys


def _rows(by: str, fetched: dict, date_from: date, date_to: date) -> list[Row]:
    empty = dict.fromkeys(SUMMED, 0)
    if by in ("day", "week", "month"):  # every period of the range, the empty ones too
        keys = _period_keys(by, date_from, date_to)
        return [_row(k, f"week of {k}" if by == "week" else k, fetched.get(k, empty)) for k in keys]
    labels = labels_for(by, fetched)
    rows = [_row(key, labels[key], sums) for key, sums in fetched.items()]
    return sorted(rows, key=lambda row: (row.key == "", row.label.lower(), row.key))


def labels_for(by: str, keys: Iterable[str]) -> dict[str, str]:
    """What each key of a grouping is called: names read from their tables, in one query each."""
    keys = list(keys)
    if by == "kind":
        names = dict(OrderKind.choices)
        return {k: (names[k].split(" (")[0] if k in names else NO_ORDER) for k in keys}
    ids = [int(k) for k in keys if k.isdigit()]
    if by == "service":
        found = {str(s.pk): str(s) for s in Service.objects.filter(pk__in=ids)}
        email_ids = [int(k.removeprefix("email:")) for k in keys if k.startswith("email:")]
        found |= {f"email:{s.pk}": f"e-mail {s}" for s in EmailService.objects.filter(pk__in=email_ids)}
    elif by == "country":
        found = {str(c.pk): str(c) for c in Country.objects.filter(pk__in=ids)}
    elif by == "provider":
        found = {str(p.pk): str(p) for p in Provider.objects.filter(pk__in=ids)}
    else:
        found = {str(c.pk): c.username for c in Customer.objects.filter(pk__in=ids)}
    return {k: found.get(k, f"#{k}" if k else NONE_LABEL) for k in keys}


def with_label(row: Row, label: str) -> Row:
    return replace(row, label=label)
