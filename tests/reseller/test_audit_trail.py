"""The audit trail (django-auditlog): who changed providers, services, countries, markups, customers
and servers, and when; never a provider's API key. Its list is the History of each object's page."""

import getpass
import json
import socket
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Customer
from billing.models import MarkupRule
from billing.services import markup_set
from upstream.models import Provider, Service
from upstream.services import provider_add

pytestmark = pytest.mark.django_db

KEY = "old-k3y-9d8c7b6a5f4e3d2c1b0a"
NEW_KEY = "new-k3y-0a1b2c3d4e5f6a7b8c9d"
LABEL = f"cli:{getpass.getuser()}@{socket.gethostname()}"


@pytest.fixture
def root(client):
    user = Customer.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return user


def entries_of(obj):
    return LogEntry.objects.get_for_object(obj).order_by("id")


def every_entry_text() -> str:
    return json.dumps([[e.changes, e.changes_text, e.object_repr, e.additional_data] for e in LogEntry.objects.all()])


def test_changing_a_provider_names_the_actor_and_fields_never_the_key(client, root):
    provider = provider_add(slot=1, protocol="sandbox", url="https://sandbox.example/h", api_key=KEY, name="demo")
    data = {
        "slot": 1,
        "name": "renamed",
        "protocol": "sandbox",
        "base_url": provider.base_url,
        "api_key": NEW_KEY,
        "currency": provider.currency,
        "rate_to_pkr": str(provider.rate_to_pkr),
        "enabled": "on",
        "priority": 3,
        "config": json.dumps(provider.config),
    }
    response = client.post(reverse("admin:upstream_provider_change", args=[provider.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Provider.objects.get(pk=provider.pk).api_key == NEW_KEY
    entry = entries_of(provider).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == root
    assert entry.changes_dict["name"] == ["demo", "renamed"]
    assert entry.changes_dict["priority"] == ["0", "3"]
    assert entry.changes_dict["api_key"] == ["(secret)", "(secret)"]  # that it changed, nothing of it
    text = every_entry_text()
    assert KEY not in text and NEW_KEY not in text and KEY[-8:] not in text and NEW_KEY[-8:] not in text
    # the audit trail's pages: the object's History, the list, the entry
    history = client.get(reverse("admin:upstream_provider_history", args=[provider.pk]))
    assert history.status_code == 302
    content_type = ContentType.objects.get_for_model(Provider)
    assert history["Location"].endswith(f"?object={content_type.pk}:{provider.pk}")
    for url in (history["Location"], reverse("admin:auditlog_logentry_change", args=[entry.pk])):
        page = client.get(url).content.decode()
        assert "renamed" in page and "root" in page, url
        assert KEY not in page and NEW_KEY not in page, url


def test_the_history_list_shows_one_object_only(client, root):
    one = Service.objects.create(code="zz1", name="one")
    two = Service.objects.create(code="zz2", name="two")
    url = client.get(reverse("admin:upstream_service_history", args=[one.pk]))["Location"]
    page = client.get(url).content.decode()
    assert "zz1" in page and "zz2" not in page
    assert entries_of(two).count() == 1


def test_changing_a_markup_rule_in_the_admin_is_audited(client, root):
    rule = markup_set(scope="global", percent="10")
    data = {"scope": "global", "percent": "12.5", "fixed": "0", "min_margin": "0", "round_to": "0.01", "enabled": "on"}
    response = client.post(reverse("admin:billing_markuprule_change", args=[rule.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = entries_of(rule).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == root and entry.changes_dict["percent"] == ["10.00", "12.5"]
    assert "updated_at" not in entry.changes_dict


def test_changing_a_customer_in_the_admin_is_audited_without_secrets(client, root, customer_with_key):
    customer, key = customer_with_key(username="kate")
    data = {
        "username": "kate",
        "first_name": "Kate",
        "last_name": "",
        "email": "kate@example.com",
        "is_active": "on",
        "date_joined_0": customer.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": customer.date_joined.strftime("%H:%M:%S"),
        "audit_events-TOTAL_FORMS": "0",
        "audit_events-INITIAL_FORMS": "0",
        "webhook-TOTAL_FORMS": "0",
        "webhook-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:accounts_customer_change", args=[customer.pk]), data)
    assert response.status_code == 302
    entry = entries_of(customer).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == root
    assert entry.changes_dict["first_name"] == ["", "Kate"]
    assert entry.changes_dict["email"][1] == "kate@example.com"
    customer.refresh_from_db()
    text = every_entry_text()
    assert customer.api_key_digest not in text and key not in text and customer.password not in text


def test_a_command_records_its_label_in_the_trail():
    out = StringIO()
    call_command("markup_set", "--percent", "15", stdout=out)
    call_command("provider_add", "--slot", "2", "--protocol", "sandbox", "--api-key", KEY, stdout=out)
    rule = MarkupRule.objects.get(scope="global")
    entry = entries_of(rule).last()
    assert entry.actor is None and entry.additional_data == {"actor_label": LABEL}
    provider = Provider.objects.get(slot=2)
    assert entries_of(provider).last().additional_data == {"actor_label": LABEL}
    assert KEY not in every_entry_text()
