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
