import pytest
from django.urls import reverse

from accounts.models import Customer
from billing.services import markup_set
from tests.reseller.test_flows import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_activation_and_offer_pages(admin_client, sandbox, api, customer_with_key):
    _, key = customer_with_key(balance="1000")
    a = buy(api, key)
    markup_set(scope="global", percent=50)
    url = reverse("admin:reseller_activation_changelist")
    for query in ("", "?state=active", f"?provider__id__exact={sandbox.pk}", f"?q={a.phone}"):
        page = admin_client.get(url + query)
        assert page.status_code == 200 and a.phone.encode() in page.content, query
    assert admin_client.get(url + "?state=finished").content.count(a.phone.encode()) == 0
    assert admin_client.get(reverse("admin:reseller_activation_change", args=[a.pk])).status_code == 200
    offers = admin_client.get(reverse("admin:upstream_offer_changelist"))
    assert offers.status_code == 200 and b"Sell price" in offers.content and b"+50.00%" in offers.content


def test_provider_health_circuit_balance_webhook_and_mappings(admin_client, sandbox, api, customer_with_key):
    from datetime import timedelta

    from django.utils import timezone

    from upstream.models import Provider, Service, ServiceMapping

    Provider.objects.filter(pk=sandbox.pk).update(
        low_balance_threshold=10**9, consecutive_failures=5, circuit_open_until=timezone.now() + timedelta(minutes=1)
    )
    page = admin_client.get(reverse("admin:upstream_provider_changelist")).content.decode()
    assert (
        "low: below" in page and "open until" in page and "success unknown (no purchase yet)" in page
    )  # no traffic yet: not 100 %
    change = admin_client.get(reverse("admin:upstream_provider_change", args=[sandbox.pk])).content.decode()
    sandbox.refresh_from_db()
    assert f"/upstream/webhook/{sandbox.pk}/{sandbox.webhook_secret}" in change
    admin_client.post(
        reverse("admin:upstream_provider_changelist"), {"action": "close_circuit", "_selected_action": [sandbox.pk]}
    )
    sandbox.refresh_from_db()
    assert sandbox.circuit_open_until is None and sandbox.consecutive_failures == 0

    ServiceMapping.objects.create(provider=sandbox, upstream_code="777", upstream_name="Telegram X")
    url = reverse("admin:upstream_servicemapping_changelist")
    assert b"Telegram X" in admin_client.get(url + "?mapped=no").content
    assert admin_client.get(reverse("admin:upstream_countrymapping_changelist")).status_code == 200
    assert ServiceMapping.objects.filter(service=None).count() == 1
    assert Service.objects.filter(code="tg").exists()


def test_activation_shows_its_attempts(admin_client, sandbox, api, customer_with_key):
    _, key = customer_with_key(balance="1000")
    a = buy(api, key)
    page = admin_client.get(reverse("admin:reseller_activation_change", args=[a.pk])).content.decode()
    assert "Purchase attempts" in page and "bought" in page
