"""The admin of cheap servers, and cheap orders among the activations."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer
from reseller.models import CheapServer
from tests.reseller.cheap.conftest import order_of, server_on
from upstream.models import Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_cheap_server_pages_render(admin_client, sandbox):
    server = server_on(sandbox, name="WhatsApp India", service="wa", price=Decimal("130.00"))
    server_on(None, name="Telegram anywhere", country=None, type=2)
    changelist = admin_client.get(reverse("admin:reseller_cheapserver_changelist"))
    assert changelist.status_code == 200
    assert b"WhatsApp India" in changelist.content and b"Telegram anywhere" in changelist.content
    assert b"130.00" in changelist.content
    filtered = admin_client.get(reverse("admin:reseller_cheapserver_changelist") + "?type__exact=2")
    assert b"Telegram anywhere" in filtered.content and b"WhatsApp India" not in filtered.content
    assert admin_client.get(reverse("admin:reseller_cheapserver_add")).status_code == 200
    change = admin_client.get(reverse("admin:reseller_cheapserver_change", args=[server.pk]))
    assert change.status_code == 200 and b"WhatsApp India" in change.content


def test_add_and_edit_a_cheap_server(admin_client, sandbox):
    tg, wa = Service.objects.get(code="tg"), Service.objects.get(code="wa")
    form = {
        "type": "1",
        "name": "Pakistan Server 1",
        "provider": str(sandbox.pk),
        "services": [str(tg.pk), str(wa.pk)],
        "country": "66",
        "price": "",
        "enabled": "on",
    }
    response = admin_client.post(reverse("admin:reseller_cheapserver_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    server = CheapServer.objects.get(name="Pakistan Server 1")
    assert (server.type, server.provider_id, server.country_id, server.price, server.enabled) == (
        1,
        sandbox.pk,
        66,
        None,
        True,
    )
    assert set(server.services.all()) == {tg, wa}

    edit = {**form, "type": "2", "price": "75.00", "country": "", "services": [str(wa.pk)]}
    edit.pop("enabled")
    response = admin_client.post(reverse("admin:reseller_cheapserver_change", args=[server.pk]), edit)
    assert response.status_code == 302
    server.refresh_from_db()
    assert (server.type, server.price, server.country, server.enabled) == (2, Decimal("75.00"), None, False)
    assert list(server.services.all()) == [wa]


@pytest.mark.parametrize("price", ["0", "-5"])
def test_a_price_must_be_positive(admin_client, sandbox, price):
    form = {"type": "1", "name": "Free", "services": [str(Service.objects.get(code="tg").pk)], "price": price}
    response = admin_client.post(reverse("admin:reseller_cheapserver_add"), form)
    assert response.status_code == 200  # the form again, with the error
    assert b"A fixed price must be above 0 PKR" in response.content
    assert not CheapServer.objects.exists()


def test_activations_filter_by_kind(admin_client, sandbox, api, cheap_text, customer_with_key):
    _, key = customer_with_key(balance="1000.00")
    server = server_on(sandbox, country=22)
    order = order_of(cheap_text(key, "buyNumber", server=str(server.pk)))
    plain = api(key, "getNumber", service="tg", country="22").split(":")[2]
    url = reverse("admin:reseller_activation_changelist")
    everything = admin_client.get(url).content
    assert order.phone.encode() in everything and plain.encode() in everything
    cheap_only = admin_client.get(url + "?kind__exact=cheap")
    assert cheap_only.status_code == 200
    assert order.phone.encode() in cheap_only.content and plain.encode() not in cheap_only.content
    activations_only = admin_client.get(url + "?kind__exact=activation").content
    assert plain.encode() in activations_only and order.phone.encode() not in activations_only
    by_server = admin_client.get(url + f"?cheap_server__id__exact={server.pk}").content
    assert order.phone.encode() in by_server and plain.encode() not in by_server
    page = admin_client.get(reverse("admin:reseller_activation_change", args=[order.pk]))
    assert page.status_code == 200 and b"bought" in page.content  # its purchase attempts
