"""`provider_add --protocol otpget-cheap`, the admin's provider form, and a cheap upstream's numbers sold
through our handler_api.php once the admin has mapped its codes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Customer
from reseller.activations.sync import provider_sync_statuses
from tests.upstream.otpget_cheap.conftest import KEY
from upstream.models import Provider, Service, ServiceMapping
from upstream.services import catalogue_seed, catalogue_sync

pytestmark = pytest.mark.django_db


def add(*args: str) -> str:
    out = StringIO()
    call_command("provider_add", *args, stdout=out)
    return out.getvalue().strip()


def test_provider_add_stores_an_otpget_cheap_provider(fake):
    out = add(
        "--slot", "4", "--protocol", "otpget-cheap", "--url", fake.url, "--api-key", KEY,
        "--name", "cheap numbers", "--config", '{"type": 1, "country": 66}',
    )  # fmt: skip
    provider = Provider.objects.get(slot=4)
    assert (provider.protocol, provider.base_url, provider.api_key, provider.currency, provider.config) == (
        "otpget-cheap",
        fake.url,
        KEY,
        "PKR",
        {"type": 1, "country": 66},
    )
    assert out == f"added provider slot 4: cheap numbers (otpget-cheap at {fake.url}; prices in PKR, 1 PKR = 1 PKR)"
    assert KEY not in out


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('{"type": 9}', "config type must be 1-6"),
        ('{"type": "x"}', "config type must be 1-6"),
        ('{"country": "Pakistan"}', "config country must be a number"),
        ('{"country": -1}', "config country must be a number"),
        ("[1]", "config must be a JSON object"),
    ],
)
def test_provider_add_refuses_a_config_the_protocol_would_refuse(fake, config, message):
    with pytest.raises(CommandError, match=message):
        add("--slot", "4", "--protocol", "otpget-cheap", "--url", fake.url, "--api-key", KEY, "--config", config)
    assert not Provider.objects.exists()


def test_the_admin_form_refuses_a_bad_config(fake):
    admin = Client()
    admin.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    form = {
        "slot": "5", "name": "", "protocol": "otpget-cheap", "base_url": fake.url, "api_key": KEY,
        "currency": "PKR", "rate_to_pkr": "1", "enabled": "on", "priority": "0", "low_balance_threshold": "",
    }  # fmt: skip
    page = admin.post(reverse("admin:upstream_provider_add"), {**form, "config": '{"type": 8}'})
    assert page.status_code == 200 and "config type must be 1-6" in page.content.decode()
    assert not Provider.objects.exists()
    assert admin.post(reverse("admin:upstream_provider_add"), {**form, "config": '{"country": 66}'}).status_code == 302
    assert Provider.objects.get(slot=5).config == {"country": 66}


def test_cheap_numbers_are_sold_through_our_api_once_mapped(
    fake, customer_with_key, django_capture_on_commit_callbacks
):
    catalogue_seed()
    add("--slot", "3", "--protocol", "otpget-cheap", "--url", fake.url, "--api-key", KEY, "--config", '{"country": 66}')
    provider = Provider.objects.get(slot=3)
    catalogue_sync(provider=provider)
    ServiceMapping.objects.filter(provider=provider, upstream_code="2:1").update(service=Service.objects.get(code="tg"))
    catalogue_sync(provider=provider)
    _, key = customer_with_key(balance="100.00")
    http = Client()

    def api(action: str, **params: str) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = http.get("/stubs/handler_api.php", {"api_key": key, "action": action, **params})
        assert response.status_code == 200
        return response.content.decode()

    reply = api("getNumber", service="tg", country="66")
    assert reply.startswith("ACCESS_NUMBER:") and reply.endswith(":923000000741"), reply
    order_id = "ORD_6830abc741_741"
    buy = [params for action, params in fake.calls if action == "buyNumber"]
    assert buy == [{"api_key": KEY, "action": "buyNumber", "server": "2", "service": "1", "type": "1"}]
    activation_id = reply.split(":")[1]
    assert api("getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    fake.deliver_sms(order_id, "847293")
    provider_sync_statuses(provider_id=provider.pk)
    assert api("getStatus", id=activation_id) == "STATUS_OK:847293"
    assert api("setStatus", id=activation_id, status="6") == "ACCESS_ACTIVATION"
    assert fake.orders[order_id].status == "finished"
    assert ("setStatus", "6") in [(action, params.get("status")) for action, params in fake.calls]
