import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Customer
from upstream.models import Country, Offer, Provider, Service
from upstream.services import catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db

KEY = "k3y-9d8c7b6a5f4e3d2c1b0a"


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def provider():
    return provider_add(slot=1, protocol="sandbox", url="https://sandbox.example/handler", api_key=KEY, name="demo")


def change_data(provider: Provider, **overrides) -> dict:
    data = {
        "slot": provider.slot,
        "name": provider.name,
        "protocol": provider.protocol,
        "base_url": provider.base_url,
        "api_key": "",
        "currency": provider.currency,
        "rate_to_pkr": str(provider.rate_to_pkr),
        "enabled": "on",
        "priority": provider.priority,
        "config": json.dumps(provider.config),
    }
    return {**data, **overrides}


def test_pages_render_and_never_show_the_key(admin_client, provider):
    catalogue_seed()
    catalogue_sync(provider=provider)
    offer = Offer.objects.select_related("provider").get(country_id=66, service__code="tg")
    pages = [
        reverse("admin:upstream_provider_changelist"),
        reverse("admin:upstream_provider_change", args=[provider.pk]),
        reverse("admin:upstream_provider_add"),
        reverse("admin:upstream_country_changelist"),
        reverse("admin:upstream_country_changelist") + "?q=Pakistan",
        reverse("admin:upstream_country_changelist") + "?q=66",
        reverse("admin:upstream_country_change", args=[66]),
        reverse("admin:upstream_service_changelist") + "?q=tg",
        reverse("admin:upstream_offer_changelist"),
        reverse("admin:upstream_offer_changelist") + f"?provider__id__exact={provider.pk}&q=Telegram",
        reverse("admin:upstream_offer_change", args=[offer.pk]),
    ]
    history = admin_client.get(reverse("admin:upstream_provider_history", args=[provider.pk]))
    assert history.status_code == 302  # the History button opens the provider's audit trail
    pages.append(history["Location"])
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert KEY.encode() not in response.content, url
    offers_page = admin_client.get(reverse("admin:upstream_offer_changelist") + "?country__id__exact=66&q=tg")
    assert b"120.00" in offers_page.content and b"Pakistan" in offers_page.content
    change_page = admin_client.get(reverse("admin:upstream_provider_change", args=[provider.pk]))
    assert b'type="password"' in change_page.content and b"leave empty to keep the current one" in change_page.content


def test_offers_are_read_only(admin_client, provider):
    catalogue_sync(provider=provider)
    offer = Offer.objects.first()
    assert admin_client.get(reverse("admin:upstream_offer_add")).status_code == 403
    admin_client.post(reverse("admin:upstream_offer_change", args=[offer.pk]), {"stock": 1, "cost": "1"})
    assert (
        admin_client.post(reverse("admin:upstream_offer_delete", args=[offer.pk]), {"post": "yes"}).status_code == 403
    )
    assert Offer.objects.get(pk=offer.pk).stock == offer.stock


def test_view_only_staff_never_sees_the_key(client, provider):
    viewer = Customer.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_provider"))
    client.force_login(viewer)
    page = client.get(reverse("admin:upstream_provider_change", args=[provider.pk]))
    assert page.status_code == 200 and b"sandbox.example" in page.content
    assert KEY.encode() not in page.content and b"api_key" not in page.content
    # Nor the webhook URL's secret, and viewing creates none.
    provider.refresh_from_db()
    assert provider.webhook_secret == "" and b"/upstream/webhook/" not in page.content


def test_empty_key_keeps_the_old_one_and_a_new_key_replaces_it(admin_client, provider):
    url = reverse("admin:upstream_provider_change", args=[provider.pk])
    response = admin_client.post(url, change_data(provider, name="renamed", priority=3))
    assert response.status_code == 302, response.content.decode()[:2000]
    provider.refresh_from_db()
    assert (provider.name, provider.priority, provider.api_key) == ("renamed", 3, KEY)
    admin_client.post(url, change_data(provider, api_key="fresh-key"))
    provider.refresh_from_db()
    assert provider.api_key == "fresh-key"


def test_add_form_validates_like_provider_add(admin_client, provider):
    url = reverse("admin:upstream_provider_add")
    blank = Provider(slot=2, protocol="smsactivate", currency="usd")
    response = admin_client.post(url, change_data(blank, base_url="", rate_to_pkr="0"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"base_url", "api_key", "rate_to_pkr"}
    response = admin_client.post(url, change_data(blank, slot=1, protocol="sandbox", config='{"fail": "sometimes"}'))
    assert set(response.context["adminform"].form.errors) == {"slot", "config"}
    ok = admin_client.post(url, change_data(blank, base_url="https://up.example/h", api_key="abc", rate_to_pkr="280"))
    assert ok.status_code == 302
    added = Provider.objects.get(slot=2)
    assert (added.currency, added.api_key) == ("USD", "abc")


def test_sync_action(admin_client, provider):
    broken = provider_add(slot=2, protocol="sandbox", url="", api_key="", config={"fail": "unavailable"})
    Provider.objects.filter(pk=broken.pk).update(config={"fail": "unavailable", "fail_actions": ["prices"]})
    response = admin_client.post(
        reverse("admin:upstream_provider_changelist"),
        {"action": "sync_catalogue", "_selected_action": [provider.pk, broken.pk]},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("slot 1: 30 new offers") for m in messages), messages
    assert any(m.startswith("slot 2: sync failed (ProviderUnavailable)") for m in messages), messages
    assert Offer.objects.filter(provider=provider).count() == 30
    assert not Offer.objects.filter(provider=broken).exists()
    assert Country.objects.filter(id=187).exists() and Service.objects.filter(code="wa").exists()
    provider.refresh_from_db()
    assert provider.balance is not None
