"""Provider health as the admin shows it: "unknown" until real traffic, the last catalogue-sync and
balance errors with their time (keys masked), markup targets picked by search, offers explained."""

import html

import pytest
from django.urls import reverse

from accounts.models import Customer
from billing.models import MarkupRule
from upstream.health import health_text, provider_record_attempt, provider_record_sms, sync_problem
from upstream.models import Offer, Provider
from upstream.providers.base import ProviderUnavailable
from upstream.services import catalogue_seed, catalogue_sync, provider_add, provider_balance_sync

pytestmark = pytest.mark.django_db

KEY = "k3y-9d8c7b6a5f4e3d2c1b0a"


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def sandbox():
    return provider_add(slot=1, protocol="sandbox", url="https://sandbox.example/handler", api_key=KEY, name="demo")


@pytest.fixture
def dead():
    """An SMS-Activate provider nobody answers for (a closed port)."""
    return provider_add(
        slot=2, protocol="smsactivate", url="http://127.0.0.1:9/stubs/handler_api.php", api_key=KEY, name="dead"
    )


def test_health_is_unknown_until_traffic_says_otherwise(admin_client, sandbox):
    assert health_text(sandbox) == "success unknown (no purchase yet) · SMS unknown"
    page = admin_client.get(reverse("admin:upstream_provider_changelist")).content.decode()
    assert "success unknown (no purchase yet)" in page and "100%" not in page

    provider_record_attempt(provider_id=sandbox.pk, ok=False, duration_ms=200)
    sandbox.refresh_from_db()
    assert health_text(sandbox) == "success 90% · latency 20 ms · SMS unknown"
    provider_record_sms(provider_id=sandbox.pk, received=True)
    sandbox.refresh_from_db()
    assert (sandbox.attempts_seen, sandbox.sms_outcomes_seen) == (1, 1)
    assert health_text(sandbox) == "success 90% · latency 20 ms · SMS 100%"


def test_a_failed_sync_and_balance_are_shown_with_their_time_and_without_the_key(admin_client, dead):
    with pytest.raises(ProviderUnavailable):
        catalogue_sync(provider=dead)
    with pytest.raises(ProviderUnavailable):
        provider_balance_sync(provider=dead)
    dead.refresh_from_db()
    assert dead.last_sync_error.startswith("ProviderUnavailable") and dead.last_sync_error_at is not None
    assert dead.last_balance_error.startswith("ProviderUnavailable") and dead.last_balance_error_at is not None
    assert KEY not in dead.last_sync_error + dead.last_balance_error
    problem = sync_problem(dead)
    assert problem.startswith("catalogue sync failed at ") and "; balance failed at " in problem

    listing = admin_client.get(reverse("admin:upstream_provider_changelist")).content.decode()
    assert "catalogue sync failed at" in listing and KEY not in listing
    page = admin_client.get(reverse("admin:upstream_provider_change", args=[dead.pk])).content.decode()
    assert dead.last_sync_error in html.unescape(page) and KEY not in page


def test_a_success_after_the_error_clears_the_warning_but_keeps_the_last_error(admin_client, sandbox):
    catalogue_seed()
    Provider.objects.filter(pk=sandbox.pk).update(base_url="http://127.0.0.1:9/x", protocol="smsactivate")
    sandbox.refresh_from_db()
    with pytest.raises(ProviderUnavailable):
        catalogue_sync(provider=sandbox)
    assert sync_problem(sandbox).startswith("catalogue sync failed")

    Provider.objects.filter(pk=sandbox.pk).update(base_url="https://sandbox.example/handler", protocol="sandbox")
    sandbox.refresh_from_db()
    catalogue_sync(provider=sandbox)
    sandbox.refresh_from_db()
    assert sandbox.last_sync_at > sandbox.last_sync_error_at and sandbox.last_sync_error
    assert sync_problem(sandbox) == ""
    listing = admin_client.get(reverse("admin:upstream_provider_changelist")).content.decode()
    assert "failed at" not in listing and "synced " in listing


def test_markup_rule_targets_are_searched_not_typed_as_ids(admin_client, sandbox):
    catalogue_seed()
    page = admin_client.get(reverse("admin:billing_markuprule_add")).content.decode()
    for field in ("provider", "country", "service", "customer"):
        assert f'name="{field}"' in page
        assert f'id="id_{field}"' in page and "admin-autocomplete" in page.split(f'id="id_{field}"')[0][-400:] + page
    assert "vForeignKeyRawIdAdminField" not in page
    found = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "Telegram", "app_label": "billing", "model_name": "markuprule", "field_name": "service"},
    ).json()
    assert "tg (Telegram)" in [r["text"] for r in found["results"]]
    found = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "Pakistan", "app_label": "billing", "model_name": "markuprule", "field_name": "country"},
    ).json()
    assert [r["id"] for r in found["results"]] == ["66"]
    found = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "demo", "app_label": "billing", "model_name": "markuprule", "field_name": "provider"},
    ).json()
    assert [r["id"] for r in found["results"]] == [str(sandbox.pk)]


def test_offers_show_cost_sell_price_and_how_it_is_made(admin_client, sandbox):
    catalogue_seed()
    catalogue_sync(provider=sandbox)
    MarkupRule.objects.create(scope=MarkupRule.Scope.GLOBAL, percent=50, note="house")
    offer = Offer.objects.select_related("provider").get(country_id=66, service__code="tg")
    rule = MarkupRule.objects.get(note="house")
    listing = html.unescape(admin_client.get(reverse("admin:upstream_offer_changelist")).content.decode())
    assert "How the sell price is made" in listing and f"rule #{rule.pk} (global): +50.00%" in listing
    page = html.unescape(admin_client.get(reverse("admin:upstream_offer_change", args=[offer.pk])).content.decode())
    cost = offer.provider.to_pkr(offer.cost)
    assert f"cost {cost:.2f} PKR; rule #{rule.pk} (global): +50.00%" in page
