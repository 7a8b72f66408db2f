"""The `report` command and the admin report page show the figures of reports.figures; the CSV
of both is the page's table; only staff with reports.view_reports reach the page."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import Customer
from reports.export import csv_rows, csv_text, table_text
from reports.figures import report
from tests.reports.history import D0, DAYS

LAST = D0 + timedelta(days=DAYS - 1)
RANGE = {"date_from": D0.isoformat(), "date_to": LAST.isoformat()}


def run(*args) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("by", ["day", "week", "month", "service", "country", "provider", "customer", "kind"])
def test_the_command_prints_the_figures_of_the_report(history, by):
    expected = report(date_from=D0, date_to=LAST, by=by)
    args = ["--from", D0.isoformat(), "--to", LAST.isoformat(), "--by", by]
    assert run(*args, "--format", "csv") == csv_text(expected)
    assert list(csv.reader(io.StringIO(run(*args, "--format", "csv")))) == csv_rows(expected)
    table = run(*args)
    assert table == table_text(expected)
    total_line = [line for line in table.splitlines() if line.startswith("total")][0]
    assert str(expected.totals.revenue) in total_line and expected.totals.revenue > 0


def test_the_command_filters_like_the_report(history):
    bob = history.customers["bob"]
    printed = run(
        "--from", D0.isoformat(), "--to", LAST.isoformat(), "--by", "service", "--kind", "rental",
        "--customer", bob.username, "--provider", str(history.providers[1].pk), "--format", "csv",
    )  # fmt: skip
    expected = report(
        date_from=D0,
        date_to=LAST,
        by="service",
        kind="rental",
        filters={"customer": bob.pk, "provider": history.providers[1].pk},
    )
    assert printed == csv_text(expected)
    assert expected.totals.revenue == 150  # rental 5 and its renewal


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "2026-03-01", "--by", "day"], "--from is required"),
        (["--from", "2026-3-1x", "--to", "2026-03-01", "--by", "day"], "is not a date"),
        (["--from", "2026-03-02", "--to", "2026-03-01", "--by", "day"], "is after"),
        (["--from", "2026-03-01", "--to", "2026-03-01"], "--by is required"),
        (["--from", "2026-03-01", "--to", "2026-03-01", "--by", "year"], "unknown grouping 'year'"),
        (["--from", "2026-03-01", "--to", "2026-03-01", "--by", "day", "--kind", "sms"], "unknown order kind"),
        (["--from", "2026-03-01", "--to", "2026-03-01", "--by", "day", "--format", "xml"], "table or csv"),
        (["--from", "2026-03-01", "--to", "2026-03-01", "--by", "day", "--service", "x1"], "service must be an id"),
        (["--from", "2026-03-01", "--to", "2026-03-01", "--by", "day", "--customer", "nobody"], "no customer"),
    ],
)
def test_bad_command_input_is_one_clean_line(db, args, message):
    with pytest.raises(CommandError) as raised:
        run(*args)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_report_rollup_command(history):
    out = io.StringIO()
    call_command("report_rollup", "--from", D0.isoformat(), "--to", LAST.isoformat(), stdout=out)
    assert out.getvalue().startswith(f"report_rollup: {DAYS} day(s) recomputed")
    with pytest.raises(CommandError, match="is after"):
        call_command("report_rollup", "--from", LAST.isoformat(), "--to", D0.isoformat())


# --- the page ---------------------------------------------------------------------------------


def staff(username, *, perm=False, superuser=False, is_staff=True):
    user = Customer.objects.create_user(username=username, password="pw-123456", is_staff=is_staff)
    user.is_superuser = superuser
    user.save()
    if perm:
        user.user_permissions.add(Permission.objects.get(codename="view_reports", content_type__app_label="reports"))
    return user


def cells(html: str, section: str) -> list[list[str]]:
    body = re.search(rf"<{section}>(.*?)</{section}>", html, re.S).group(1)
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.mark.parametrize("by", ["day", "service", "customer", "kind"])
def test_the_csv_equals_the_page_table(history, client, by):
    client.force_login(staff("operator", perm=True))
    url = reverse("admin:reports_report")
    page = client.get(url, {**RANGE, "by": by})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="report-chart"' in html and 'id="report-csv"' in html
    assert "reports/vendor/chart-4.6.1.umd.min.js" in html
    table = cells(html, "thead") + cells(html, "tbody") + cells(html, "tfoot")
    download = client.get(url, {**RANGE, "by": by, "format": "csv"})
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows == table
    assert rows == csv_rows(report(date_from=D0, date_to=LAST, by=by))
    link = unescape(re.search(r'id="report-csv"[^>]*href="\?([^"]+)"', html).group(1))
    assert "format=csv" in link and f"by={by}" in link


def test_the_page_filters_and_default_range(history, client):
    client.force_login(staff("operator", perm=True))
    url = reverse("admin:reports_report")
    assert client.get(url).status_code == 200  # the last 30 days by day, today's date
    bob = history.customers["bob"]
    page = client.get(url, {**RANGE, "by": "kind", "customer": bob.username, "kind": "rental"})
    expected = report(date_from=D0, date_to=LAST, by="kind", kind="rental", filters={"customer": bob.pk})
    assert cells(page.content.decode(), "tbody") == csv_rows(expected)[1:-1]
    bad = client.get(url, {**RANGE, "date_from": LAST.isoformat(), "date_to": D0.isoformat(), "by": "day"})
    assert bad.status_code == 200 and "is after" in bad.content.decode()


def test_only_staff_with_the_report_permission_see_reports(db, client):
    url = reverse("admin:reports_report")
    assert url == "/admin/reports/report/"
    client.force_login(staff("clerk"))  # staff, no permission
    assert client.get(url).status_code == 403
    assert "Reports" not in client.get(reverse("admin:index")).content.decode()
    client.force_login(staff("customer", is_staff=False))
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    for user in (staff("operator", perm=True), staff("root", superuser=True)):
        client.force_login(user)
        assert client.get(url).status_code == 200
        index = client.get(reverse("admin:index")).content.decode()
        assert url in index


def test_the_chart_library_is_vendored_and_served(db, client):
    from django.contrib.staticfiles import finders

    path = finders.find("reports/vendor/chart-4.6.1.umd.min.js")
    assert path and "Chart.js v4.6.1" in open(path, encoding="utf-8").read(300)
    versions = open(finders.find("reports/vendor/VERSIONS"), encoding="utf-8").read()
    assert "chart.js 4.6.1" in versions and "MIT" in versions


def test_a_name_that_looks_like_a_formula_is_quoted_in_the_csv(history):
    from upstream.models import Service

    Service.objects.filter(pk=history.services["tg"].pk).update(code='=HYPERLINK("x")')
    rows = csv_rows(report(date_from=D0, date_to=LAST, by="service"))
    labels = [line[1] for line in rows[1:-1]]
    assert any(label.startswith("'=HYPERLINK") for label in labels)
    assert not any(label.startswith("=") for label in labels)
