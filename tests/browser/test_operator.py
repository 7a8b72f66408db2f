"""An operator's afternoon in a real browser: the dashboard, a report with its chart drawn and its
CSV download, switching a service off (the next getNumber answers as for a service not sold), and
an operator account that reads everything and changes nothing. Writes the docs' screenshots
(dashboard, report) with WRITE_SCREENSHOTS=1."""

import csv
import io
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from billing.models import MarkupRule
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from tests.browser.helpers import (
    api,
    click_and_download,
    click_and_load,
    open_admin,
    wait_canvas_drawn,
    wait_css,
    wait_page,
    wait_text,
)
from tests.factories import CustomerFactory
from upstream.models import SandboxActivation, Service

pytestmark = pytest.mark.django_db(transaction=True)


def sell_and_deliver(base_url: str, key: str, count: int) -> list[Activation]:
    """Buy `count` tg numbers in India through the live server; the first gets its SMS (charged),
    the others stay waiting (held)."""
    bought = []
    for _ in range(count):
        reply = api(base_url, api_key=key, action="getNumber", service="tg", country="22")
        assert reply.startswith("ACCESS_NUMBER:"), reply
        bought.append(Activation.objects.get(pk=int(reply.split(":")[1])))
    first = bought[0]
    SandboxActivation.objects.filter(pk=int(first.upstream_id)).update(sms_due_at=timezone.now() - timedelta(seconds=1))
    provider_sync_statuses(provider_id=first.provider_id)
    assert api(base_url, api_key=key, action="getStatus", id=str(first.pk)).startswith("STATUS_OK:")
    return bought


def table_cells(browser, css: str) -> list[list[str]]:
    rows = browser.find_elements(By.CSS_SELECTOR, f"{css} tr")
    return [[cell.text.strip() for cell in row.find_elements(By.CSS_SELECTOR, "th, td")] for row in rows]


def test_dashboard_report_chart_and_csv(browser, admin_login, sandbox, screenshot):
    MarkupRule.objects.create(scope=MarkupRule.Scope.GLOBAL, percent=25, note="house margin")
    _, key = CustomerFactory.create_with_key(balance="900.00", username="shop-1")
    first, *_ = sell_and_deliver(browser.base_url, key, 3)
    first.refresh_from_db()
    admin_login()

    # The admin's first page is the dashboard, with today's money and the live orders.
    browser.get(f"{browser.base_url}/admin/")
    wait_css(browser, "#dashboard")
    today = wait_css(browser, "#dashboard-today").text
    assert f"{first.price:.2f}" in today.replace(",", ""), today
    assert "sandbox one" in wait_css(browser, "#dashboard-providers").text
    screenshot("dashboard", full_page=True)

    # A report by service for the last days: the table, the chart drawn, the CSV equal to the page.
    open_admin(browser, "admin:reports_report")
    Select(wait_css(browser, "#id_by")).select_by_value("service")
    click_and_load(browser, "#report-form input[type=submit]")
    wait_text(browser, "#report-table", "tg")
    wait_canvas_drawn(browser, "report-chart")
    screenshot("report", full_page=True)
    page = table_cells(browser, "#report-table")
    revenue_col = [heading.lower() for heading in page[0]].index("revenue")  # the admin shows headings in capitals
    tg_row = next(row for row in page if row[0].startswith("tg") or row[1].startswith("tg"))
    assert tg_row[revenue_col] == f"{first.price:.2f}"

    downloaded = click_and_download(browser, "#report-csv")
    assert downloaded.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(downloaded.read_text(encoding="utf-8"))))
    shown = [row for row in page if any(row)]
    assert [h.lower() for h in rows[0]] == [h.lower() for h in shown[0]], "the CSV has the page's columns"
    assert rows[1:] == shown[1:], "the CSV is the page's table"


def test_switching_a_service_off_is_seen_by_the_next_getnumber(browser, admin_login, sandbox):
    _, key = CustomerFactory.create_with_key(balance="500.00", username="shop-2")
    admin_login()
    tg = Service.objects.get(code="tg")
    open_admin(browser, "admin:upstream_service_change", tg.pk)
    box = wait_css(browser, "#id_enabled")
    assert box.is_selected()
    box.click()
    click_and_load(browser, 'input[name="_save"]')
    assert urlparse(browser.current_url).path == reverse("admin:upstream_service_changelist")  # saved: back on the list
    tg.refresh_from_db()
    assert not tg.enabled
    assert api(browser.base_url, api_key=key, action="getNumber", service="tg", country="22") == "BAD_SERVICE"

    open_admin(browser, "admin:upstream_service_change", tg.pk)
    wait_css(browser, "#id_enabled").click()
    click_and_load(browser, 'input[name="_save"]')
    assert urlparse(browser.current_url).path == reverse("admin:upstream_service_changelist")
    tg.refresh_from_db()
    assert tg.enabled
    assert api(browser.base_url, api_key=key, action="getNumber", service="tg", country="22").startswith(
        "ACCESS_NUMBER:"
    )


def test_an_operator_reads_reports_and_cannot_change_a_provider(browser, admin_login, sandbox, django_user_model):
    _, key = CustomerFactory.create_with_key(balance="300.00", username="shop-3")
    sell_and_deliver(browser.base_url, key, 1)
    operator = django_user_model.objects.create_user("olga", "olga@example.com", "pw-operator-1", is_staff=True)
    operator.groups.add(Group.objects.get(name="operators"))
    admin_login(operator, "pw-operator-1")

    browser.get(f"{browser.base_url}/admin/")
    wait_css(browser, "#dashboard-today")
    open_admin(browser, "admin:reports_report")
    wait_canvas_drawn(browser, "report-chart")

    open_admin(browser, "admin:upstream_provider_change", sandbox.pk)
    wait_css(browser, "#content")
    assert not browser.find_elements(By.CSS_SELECTOR, 'input[name="_save"]')  # view only
    browser.get(f"{browser.base_url}{reverse('admin:billing_markuprule_add')}")
    wait_page(browser)
    assert "403" in browser.title or "Forbidden" in browser.page_source
