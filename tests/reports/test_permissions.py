"""Who reaches what in the admin: the "operators" group reads everything and changes nothing;
a customer without staff status reaches no admin page; superusers do everything."""

import io
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.urls import NoReverseMatch, reverse

from accounts.models import Customer
from billing.models import MarkupRule
from reports.operators import APPS, GROUP, operators_group_sync
from upstream.models import Provider

PAGES = ("admin:index", "admin:reports_report", "admin:reports_reconciliation")
RULE_FORM = {
    "scope": "global",
    "percent": "31.00",
    "fixed": "0.00",
    "min_margin": "0.00",
    "round_to": "0.01",
    "product": "",
    "enabled": "on",
    "note": "edited",
}


def changelists(apps=None) -> list[str]:
    urls = []
    for model in admin.site._registry:
        opts = model._meta
        if apps is None or opts.app_label in apps:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    return urls


def add_urls() -> list[str]:
    urls = []
    for model in admin.site._registry:
        opts = model._meta
        try:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        except NoReverseMatch:  # the report pages have no add view
            pass
    return urls


@pytest.fixture
def objects(db):
    provider = Provider.objects.create(slot=1, protocol="sandbox", name="perm provider")
    rule = MarkupRule.objects.create(scope="global", percent=Decimal("20"), note="original")
    return provider, rule


@pytest.fixture
def operator(db, client):
    user = Customer.objects.create_user(username="perm-operator", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=GROUP))
    client.force_login(user)
    return user


def test_the_group_reads_everything_and_changes_nothing(db):
    group = Group.objects.get(name=GROUP)  # made by migrate (reports.apps post_migrate)
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert ("reports", "view_reports") in codenames
    for wanted in ("view_activation", "view_rental", "view_emailorder", "view_transfer", "view_ledgeraccount"):
        assert any(code == wanted for _, code in codenames), wanted
    for wanted in ("view_provider", "view_offer", "view_markuprule", "view_customer", "view_hold"):
        assert any(code == wanted for _, code in codenames), wanted
    assert all(code.startswith("view_") for _, code in codenames)


def test_the_group_is_kept_up_to_date_idempotently(db):
    group = Group.objects.get(name=GROUP)
    expected = set(group.permissions.all())
    group.permissions.add(Permission.objects.get(codename="change_provider"))
    group.permissions.remove(Permission.objects.get(codename="view_reports"))
    _, created, count = operators_group_sync()
    assert not created and set(group.permissions.all()) == expected and count == len(expected)
    out = io.StringIO()
    call_command("operators_group", stdout=out)
    assert f"{len(expected)} permissions" in out.getvalue()
    assert set(Group.objects.get(name=GROUP).permissions.all()) == expected
    carol = Customer.objects.create_user(username="perm-carol", password="pw")
    out = io.StringIO()
    call_command("operators_group", "--add", "perm-carol", stdout=out)
    carol.refresh_from_db()
    assert carol.is_staff and carol.groups.filter(name=GROUP).exists() and "perm-carol is staff" in out.getvalue()
    assert carol.has_perm("reports.view_reports") and not carol.has_perm("upstream.change_provider")
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("operators_group", "--add", "nobody", stdout=io.StringIO())
    Group.objects.filter(name=GROUP).delete()
    _, created, _ = operators_group_sync()
    assert created and set(Group.objects.get(name=GROUP).permissions.all()) == expected


def test_an_operator_sees_dashboard_reports_and_every_list(objects, operator, client):
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    ours = changelists(APPS)
    assert len(ours) > 20
    for url in ours:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'class="addlink"' not in response.content.decode(), url
    # Outside our apps (users' groups and the like): nothing.
    for url in set(changelists()) - set(ours):
        assert client.get(url).status_code == 403, url


def test_an_operator_cannot_change_a_markup_rule_or_a_provider(objects, operator, client):
    provider, rule = objects
    rule_url = reverse("admin:billing_markuprule_change", args=[rule.pk])
    provider_url = reverse("admin:upstream_provider_change", args=[provider.pk])
    for url in (rule_url, provider_url):
        page = client.get(url)
        assert page.status_code == 200  # read-only
        assert 'name="_save"' not in page.content.decode() and 'class="deletelink"' not in page.content.decode()
    assert client.post(rule_url, RULE_FORM).status_code == 403
    assert client.post(provider_url, {"slot": "1", "protocol": "sandbox", "name": "renamed"}).status_code == 403
    rule.refresh_from_db()
    provider.refresh_from_db()
    assert rule.percent == Decimal("20") and rule.note == "original" and provider.name == "perm provider"
    assert client.post(reverse("admin:billing_markuprule_delete", args=[rule.pk]), {"post": "yes"}).status_code == 403
    assert MarkupRule.objects.filter(pk=rule.pk).exists()
    for url in add_urls():
        assert client.get(url).status_code == 403, url
    Provider.objects.filter(pk=provider.pk).update(consecutive_failures=7)
    action = {"action": "close_circuit", "_selected_action": [provider.pk]}
    client.post(reverse("admin:upstream_provider_changelist"), action)  # not offered to a viewer
    provider.refresh_from_db()
    assert provider.consecutive_failures == 7


def test_a_customer_without_staff_status_reaches_no_admin_page(objects, client):
    provider, rule = objects
    customer = Customer.objects.create_user(username="perm-customer", password="pw")
    customer.groups.add(Group.objects.get(name=GROUP))  # even in the group: not staff
    client.force_login(customer)
    urls = [reverse(name) for name in PAGES] + changelists() + add_urls()
    urls += [
        reverse("admin:billing_markuprule_change", args=[rule.pk]),
        reverse("admin:upstream_provider_change", args=[provider.pk]),
    ]
    assert len(urls) > 20
    login = reverse("admin:login")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    response = client.post(reverse("admin:billing_markuprule_change", args=[rule.pk]), RULE_FORM)
    assert response.status_code == 302 and response["Location"].startswith(login)
    rule.refresh_from_db()
    assert rule.note == "original"


def test_staff_outside_the_group_see_no_report(objects, client):
    staff = Customer.objects.create_user(username="perm-staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:reports_report")).status_code == 403
    assert client.get(reverse("admin:reports_reconciliation")).status_code == 403


def test_a_superuser_can_do_everything(objects, admin_client):
    provider, rule = objects
    for name in PAGES:
        assert admin_client.get(reverse(name)).status_code == 200, name
    for url in changelists():
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(reverse("admin:upstream_provider_change", args=[provider.pk])).content.decode()
    assert 'name="_save"' in page
    response = admin_client.post(reverse("admin:billing_markuprule_change", args=[rule.pk]), RULE_FORM)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.percent == Decimal("31") and rule.note == "edited"
