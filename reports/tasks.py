from celery import shared_task

from reports.rollup import rollup_recent


@shared_task(name="reports.rollup_days", acks_late=True)
def rollup_days(days: int | None = None) -> int:
    """Keep the daily rollup current: today, the days before it, and any day a late transfer
    belongs to (reports/rollup.py). Idempotent: each day is recomputed whole."""
    return rollup_recent(days)
