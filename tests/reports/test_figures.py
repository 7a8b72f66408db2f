"""The report figures against hand-kept sums of a generated history (tests/reports/history.py):
every grouping, kinds and filters, all-time reconciliation with the ledger accounts, and the
rollup giving what the ledger gives."""

from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import LedgerAccount
from billing.services import provider_float_account
from reports.figures import GROUPINGS, period_totals, report
from reports.models import DailyFigure, RollupDay
from reports.rollup import rollup_days, rollup_range, rollup_recent
from reports.tasks import rollup_days as rollup_task
from tests.reports.history import D0, DAYS, SUMMED, figures

LAST = D0 + timedelta(days=DAYS - 1)


def got(result) -> dict[str, dict]:
    return {row.key: {k: v for k, v in asdict(row).items() if k not in ("key", "label")} for row in result.rows}


def want(history, by, **kwargs) -> dict[str, dict]:
    sums = history.expected(by, **kwargs)
    if by in ("day", "week", "month"):  # every period of the range is a row, the empty ones too
        zero = dict.fromkeys(SUMMED, Decimal(0))
        days = [D0 + timedelta(days=n) for n in range(DAYS)]
        keys = {
            "day": [d.isoformat() for d in days],
            "week": [(d - timedelta(days=d.weekday())).isoformat() for d in days],
            "month": [d.strftime("%Y-%m") for d in days],
        }[by]
        return {k: figures(sums.get(k, zero)) for k in dict.fromkeys(keys)}
    return {k: figures(v) for k, v in sums.items()}


@pytest.mark.parametrize("source", ["ledger", "rollup", "auto"])
@pytest.mark.parametrize("by", GROUPINGS)
def test_every_grouping_equals_the_hand_sums(history, by, source):
    if source != "ledger":
        rollup_range(D0, LAST)
    result = report(date_from=D0, date_to=LAST, by=by, source=source)
    assert got(result) == want(history, by)
    assert asdict(result.totals) == figures(_all(history)) | {"key": "", "label": "total"}
    if source == "auto":
        assert result.rollup_days == DAYS


def _all(history) -> dict:
    total = None
    for sums in history.expected("kind").values():
        total = dict(sums) if total is None else {k: total[k] + sums[k] for k in total}
    return total


def test_the_history_has_every_kind_and_outcome(history):
    result = report(date_from=D0, date_to=LAST, by="kind", source="ledger")
    by_kind = {row.key: row for row in result.rows}
    assert set(by_kind) == {"activation", "cheap", "rental", "email", ""}
    assert by_kind[""].label == "(no order)" and by_kind[""].losses == 13  # the orphan loss
    assert by_kind["activation"].losses == 15  # the late code
    rental = by_kind["rental"]  # two rentals and two renewals (one failed); one rental paid back
    assert (rental.orders, rental.succeeded, rental.revenue, rental.refunds) == (4, 3, 230, 130)
    assert rental.upstream_cost == 70 + 35  # rental 6's cost came back
    assert rental.margin == 230 - 80 - 105
    t = result.totals
    assert (t.topups, t.corrections) == (3000, 15)
    assert t.orders == 14 and t.succeeded == 9  # the resized hold is one order, not two


@pytest.mark.parametrize(
    ("by", "kind", "filters"),
    [
        ("service", "rental", {}),
        ("customer", None, {"provider": 1}),
        ("day", "activation", {"service": "tg", "country": 6}),
        ("provider", None, {"customer": "bob"}),
        ("month", "email", {"service": "email"}),
        ("country", "cheap", {"provider": 2, "customer": "alice"}),
        ("kind", None, {"country": 22, "provider": 2}),
    ],
)
def test_kinds_and_filters_combine(history, by, kind, filters):
    ids = {}
    for name, value in filters.items():
        if name == "provider":
            ids[name] = history.providers[value].pk
        elif name == "customer":
            ids[name] = history.customers[value].pk
        elif name == "service":
            ids[name] = f"email:{history.email_service.pk}" if value == "email" else history.services[value].pk
        else:
            ids[name] = value
    rollup_range(D0, LAST)
    expected = want(history, by, kind=kind, **ids)
    for source in ("ledger", "rollup"):
        result = report(date_from=D0, date_to=LAST, by=by, kind=kind, filters=ids, source=source)
        assert got(result) == expected
    assert any(row["revenue"] for row in expected.values())  # a filter that keeps something


def test_all_time_totals_equal_the_ledger_accounts(history):
    t = report(date_from=D0 - timedelta(days=30), date_to=LAST + timedelta(days=30), by="month").totals
    balance = {a.code: a.balance for a in LedgerAccount.objects.exclude(kind="wallet")}
    assert t.revenue == balance["revenue"]
    assert t.upstream_cost == balance["upstream_cost"]
    assert t.losses == balance["losses"]
    assert t.topups == -balance["cash"]
    assert t.corrections == -balance["adjustments"]
    paid_back = -balance["refunds"]
    assert t.margin == t.revenue - paid_back - t.upstream_cost
    floats = sum(provider_float_account(provider_id=p.pk).balance for p in history.providers.values())
    assert floats == -(t.upstream_cost + t.losses)  # every cost and loss came out of a provider's float


def test_the_providers_of_costs_and_losses_are_the_floats_they_came_from(history):
    result = report(date_from=D0, date_to=LAST, by="provider", source="ledger")
    for row in result.rows:
        if not row.key:  # top-ups and corrections: no provider
            assert row.upstream_cost == row.losses == 0
            continue
        account = provider_float_account(provider_id=int(row.key))
        assert row.upstream_cost + row.losses == -account.balance


@pytest.mark.parametrize("by", GROUPINGS)
def test_rollup_and_ledger_give_identical_reports(history, by):
    rollup_range()
    first, last = D0 - timedelta(days=2), LAST + timedelta(days=1)
    ledger = report(date_from=first, date_to=last, by=by, source="ledger")
    rollup = report(date_from=first, date_to=last, by=by, source="rollup")
    assert ledger.rows == rollup.rows and ledger.totals == rollup.totals


def test_auto_reads_the_rollup_for_complete_days_and_the_ledger_for_the_rest(history):
    clock = history.clock
    clock.at(3, 23, 59)
    rollup_days(D0 + timedelta(days=n) for n in range(4))  # day 3 is computed before it ended
    clock.at(DAYS + 2)
    result = report(date_from=D0, date_to=LAST, by="day")
    assert result.rollup_days == 3
    assert got(result) == want(history, "day")
    # proves day 0 is read from the rollup:
    DailyFigure.objects.filter(pk=DailyFigure.objects.filter(day=D0, revenue__gt=0).first().pk).update(revenue=999)
    assert report(date_from=D0, date_to=D0, by="day").totals.revenue == 999
    assert report(date_from=D0, date_to=D0, by="day", source="ledger").totals.revenue == 10


def test_the_rollup_is_idempotent(history):
    rollup_range(D0, LAST)
    first = list(DailyFigure.objects.order_by("day", "kind", "service_id", "customer_id").values())
    assert rollup_range(D0, LAST) == DAYS
    again = list(DailyFigure.objects.order_by("day", "kind", "service_id", "customer_id").values())
    assert [dict(r, id=0) for r in first] == [dict(r, id=0) for r in again]
    assert RollupDay.objects.count() == DAYS


def test_a_late_posting_to_a_past_day_is_caught_by_the_task(history):
    from reseller.orders.money import book_loss

    rollup_range(D0, LAST)
    clock = history.clock
    clock.at(1, 13)  # a transfer inserted now whose time is day 1 (a back-dated posting)
    book_loss(provider=history.providers[1], amount="4.00", key="late-orphan", memo="late")
    clock.at(DAYS + 2)
    assert report(date_from=D0, date_to=LAST, by="day", source="rollup").totals.losses == 28
    assert rollup_task.apply().get() == 3 + 1  # the recent days and day 1
    rolled = report(date_from=D0, date_to=LAST, by="day", source="rollup")
    assert rolled.totals.losses == 32
    assert rolled.rows == report(date_from=D0, date_to=LAST, by="day", source="ledger").rows
    assert rollup_recent() == 3  # nothing new since: only the recent days


def test_period_totals_and_an_empty_range(history):
    assert period_totals(D0, LAST) == report(date_from=D0, date_to=LAST, by="kind").totals
    empty = report(date_from=D0 - timedelta(days=9), date_to=D0 - timedelta(days=1), by="service")
    assert empty.rows == [] and empty.totals.revenue == 0 and empty.totals.margin_pct is None
    assert empty.totals.success_rate is None
