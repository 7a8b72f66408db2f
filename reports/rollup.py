"""The daily rollup (docs/reports.md, "Rollup"): `reports_dailyfigure` holds facts_sql()'s rows
per day, so a year of reports sums a few thousand rows instead of millions of transfers.

`rollup_days(days)` recomputes each day in its own transaction (delete the day's rows, insert
them again from the ledger, record the day in RollupDay): idempotent, and a report never sees a
half-written day. `rollup_recent()` is what the Celery task runs: the last few days, plus every
day a transfer inserted since the last run belongs to (a late or back-dated posting).
"""

from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import Hold, Transfer
from reports.figures import DIMENSIONS, SUMMED, facts_params, facts_sql, roomy, tz
from reports.models import DailyFigure, RollupDay

ROLLUP_LOCK = 0x52_4F_4C_4C  # "ROLL": the advisory-lock class of the rollup's days


def today() -> date:
    return timezone.now().astimezone(tz()).date()


def rollup_days(days: Iterable[date]) -> int:
    """Recompute the rollup of each day; returns how many days."""
    columns = ", ".join(DIMENSIONS + SUMMED)
    insert = f"INSERT INTO {DailyFigure._meta.db_table} ({columns}) SELECT {columns} FROM ({facts_sql()}) f"
    count = 0
    for day in sorted(set(days)):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # One run per day at a time (the beat task, a redelivery, `report_rollup`): a second
                # run's DELETE would not see the first one's new rows and the day would count twice.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK, day.toordinal()])
            # (SQLite, the embedded run, serialises writers anyway.)
            # The highest transfer id first: a transfer committed after it is past it, and the
            # next run's `rollup_recent` recomputes its day.
            max_id = Transfer.objects.aggregate(m=Max("id"))["m"] or 0
            computed_at = timezone.now()
            DailyFigure.objects.filter(day=day).delete()
            with connection.cursor() as cursor:
                roomy(cursor)
                cursor.execute(insert, facts_params(day, day))
            RollupDay.objects.update_or_create(
                day=day, defaults={"computed_at": computed_at, "max_transfer_id": max_id}
            )
        count += 1
    return count


def ledger_first_day() -> date | None:
    """The day of the oldest transfer or hold, or None on an empty ledger."""
    firsts = [
        Transfer.objects.aggregate(m=Min("created_at"))["m"],
        Hold.objects.aggregate(m=Min("created_at"))["m"],
    ]
    firsts = [f for f in firsts if f is not None]
    return min(firsts).astimezone(tz()).date() if firsts else None


def rollup_range(date_from: date | None = None, date_to: date | None = None) -> int:
    """Rebuild every day of date_from..date_to (default: the ledger's first day .. today)."""
    date_from = date_from or ledger_first_day()
    date_to = date_to or today()
    if date_from is None or date_from > date_to:
        return 0
    return rollup_days(date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1))


def touched_days() -> set[date]:
    """The days of transfers inserted since the last run (ids past every recorded max), whatever
    their day (the recent days are recomputed anyway: the union is a set)."""
    seen = RollupDay.objects.aggregate(m=Max("max_transfer_id"))["m"]
    if seen is None:
        return set()
    return set(
        Transfer.objects.filter(id__gt=seen)
        .annotate(d=TruncDate("created_at", tzinfo=tz()))
        .order_by()
        .values_list("d", flat=True)
        .distinct()
    )


def rollup_recent(days: int | None = None) -> int:
    """Recompute today and the `days - 1` days before it (REPORTS_ROLLUP_RECENT_DAYS), plus every
    older day a transfer inserted since the last run belongs to."""
    days = days or settings.REPORTS_ROLLUP_RECENT_DAYS
    last = today()
    recent = {last - timedelta(days=n) for n in range(days)}
    return rollup_days(recent | touched_days())
