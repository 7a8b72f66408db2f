"""The dashboard on the admin's first page: today's and this month's money from the report
engine, live orders by kind, providers, warnings and recent failures, in a bounded number of
queries; staff without the report permission see it without money."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from accounts.services import customer_create
from billing.models import OrderRef
from billing.selectors import wallet_of
from billing.services import wallet_hold, wallet_topup
from reports.operators import GROUP
from reseller.models import Activation, EmailOrder, PurchaseAttempt, Rental
from reseller.orders import money
from upstream.models import Country, Provider, Service, balance_snapshot_record

IDS = (
    "dashboard",
    "dashboard-today",
    "dashboard-month",
    "dashboard-providers",
    "dashboard-warnings",
    "dashboard-failures",
)


@pytest.fixture
def shop(db):
    p1 = Provider.objects.create(slot=1, protocol="sandbox", name="dash one", balance=Decimal("12.5000"))
    Provider.objects.filter(pk=p1.pk).update(
        low_balance_threshold=Decimal("50"), last_sync_error="HTTP 502", last_sync_error_at=timezone.now()
    )
    p2 = Provider.objects.create(slot=2, protocol="sandbox", name="dash two", balance=Decimal("900"))
    Provider.objects.filter(pk=p2.pk).update(
        consecutive_failures=9, circuit_open_until=timezone.now() + timedelta(hours=1)
    )
    service, _ = Service.objects.get_or_create(code="dstg", defaults={"name": "dash tg"})
    country, _ = Country.objects.get_or_create(id=6, defaults={"name": "Indonesia"})
    customer, _ = customer_create(username="dash-customer")
    wallet_topup(wallet=wallet_of(customer), amount="1000", key="dash-topup")
    n = iter(range(1, 1000))

    def order(model=Activation, price="10.00", cost="7.00", provider=p1, **fields):
        common = dict(customer=customer, provider=provider, price=Decimal(price), cost_pkr=Decimal(cost), **fields)
        if model is Activation:
            o = Activation.objects.create(service=service, country=country, **common)
        elif model is Rental:
            o = Rental.objects.create(service=service, country=country, hours=4, **common)
        else:
            o = EmailOrder.objects.create(server=1, domain="mail.test", lifetime_seconds=1200, **common)
        o.hold = wallet_hold(
            wallet=wallet_of(customer), amount=o.price, key=f"dash:{next(n)}", order=OrderRef(o.kind, o.pk)
        ).hold
        o.save(update_fields=["hold"])
        return o

    sold = order(price="25.00", cost="18.00")
    money.charge(sold, memo="code")
    Activation.objects.filter(pk=sold.pk).update(state="finished")
    order(state="active")
    order(state="code_received", kind="cheap")
    order(state="active", kind="cheap")
    order(Rental, state="active", price="50.00", cost="30.00")
    order(EmailOrder, state="active", price="5.00", cost="2.00")
    failed = order(state="failed", failure="NO_BALANCE from upstream", provider=p2)
    money.refund(failed, reason="failed")
    PurchaseAttempt.objects.create(
        order_kind="activation", order_pk=failed.pk, provider=p2, price=Decimal("10"), outcome="error", raw="BAD_KEY"
    )
    # p2's upstream balance fell 100 with nothing booked: a drift.
    now = timezone.now()
    balance_snapshot_record(p2, Decimal("1000"), now - timedelta(hours=2))
    balance_snapshot_record(p2, Decimal("900"), now - timedelta(hours=1))
    return {"p1": p1, "p2": p2, "customer": customer, "failed": failed}


def text(html: str, element_id: str) -> str:
    """The text inside the element with this id (up to the next section), tags removed."""
    start = html.index(f'id="{element_id}"')
    end = html.find("<section", start + 1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start : end if end > 0 else None]))


def test_the_first_page_is_the_dashboard_with_the_app_list_below(shop, admin_client, django_assert_max_num_queries):
    # 22 today: session, user; money 8 (two reports, each in its own transaction setting work_mem); the rest 12
    with django_assert_max_num_queries(24):
        response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for element_id in IDS:
        assert f'id="{element_id}"' in html
    assert html.index('id="dashboard"') < html.index('id="content-main"')  # the app list below it
    assert reverse("admin:reseller_activation_changelist") in html
    today = text(html, "dashboard-today")
    # By hand: one sale of 25 at a cost of 18; 7 orders placed; the failed one's 10 released.
    assert "revenue 25.00 margin 7.00 margin % 28.00 losses 0.00 refunds 10.00 orders 7" in today
    assert "revenue 25.00" in text(html, "dashboard-month")
    live = text(html, "dashboard-live")
    assert "Live orders (5)" in live
    assert "activation 1" in live and "cheap 2" in live and "rental 1" in live and "email 1" in live
    providers = text(html, "dashboard-providers")
    assert "12.5000 PKR" in providers and "open" in providers
    warnings = text(html, "dashboard-warnings")
    assert "dash one: low upstream balance 12.5000 PKR (threshold 50.0000)" in warnings
    assert "dash two: circuit open" in warnings
    assert "dash one: catalogue sync failed at" in warnings and "HTTP 502" in warnings
    assert "success unknown (no purchase yet)" in providers
    assert "dash two: upstream balance drift" in warnings and "100.00 PKR beyond" in warnings
    failures = text(html, "dashboard-failures")
    assert f"activation #{shop['failed'].pk} failed" in failures and "NO_BALANCE from upstream" in failures
    assert "BAD_KEY" in failures


def test_the_number_of_queries_does_not_grow_with_the_history(shop, admin_client, django_assert_max_num_queries):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(reverse("admin:index")).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    customer = shop["customer"]
    for i in range(30):
        o = Activation.objects.create(
            customer=customer, provider=shop["p2"], service=Service.objects.get(code="dstg"), country_id=6,
            price=Decimal("1"), cost_pkr=Decimal("1"), state="failed" if i % 2 else "active",
        )  # fmt: skip
        PurchaseAttempt.objects.create(
            order_kind="activation", order_pk=o.pk, provider=shop["p1"], price=1, outcome="unknown"
        )
    Provider.objects.create(slot=3, protocol="sandbox", name="dash three")
    assert count() == before


def test_staff_without_the_report_permission_see_no_money(shop, client):
    staff = Customer.objects.create_user(username="dash-staff", password="pw", is_staff=True)
    client.force_login(staff)
    html = client.get(reverse("admin:index")).content.decode()
    for element_id in IDS:
        assert f'id="{element_id}"' in html
    assert "need the report permission" in text(html, "dashboard-today")
    assert "25.00" not in html and "12.5000" not in html and "100.00 PKR" not in html
    assert "dash one: low upstream balance" in text(html, "dashboard-warnings")
    assert "dash two: upstream balance drift" in text(html, "dashboard-warnings")
    assert "Live orders (5)" in html


def test_an_operator_sees_the_money(shop, client, django_assert_max_num_queries):
    operator = Customer.objects.create_user(username="dash-operator", password="pw", is_staff=True)
    operator.groups.add(Group.objects.get(name=GROUP))
    client.force_login(operator)
    with django_assert_max_num_queries(26):  # and the permissions of the user and its groups
        html = client.get(reverse("admin:index")).content.decode()
    assert "revenue 25.00" in text(html, "dashboard-today")
    assert reverse("admin:reports_report") in html and reverse("admin:reports_reconciliation") in html
