"""A whole activation bought from an SMS-Activate upstream (the HTTP fake written
from the document), and how many upstream calls it costs."""

from collections import Counter
from decimal import Decimal

import pytest

from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.conftest import account, age, balance_of
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream():
    with FakeSmsActivate(api_key="upstream-key") as fake:
        fake.set_offer(22, "tg", "2.00", 10)
        fake.set_offer(22, "wa", "3.00", 0)
        provider = provider_add(
            slot=1,
            protocol="smsactivate",
            url=fake.url,
            api_key="upstream-key",
            currency="RUB",
            rate=Decimal("3.50"),
            name="sms-activate",
        )
        catalogue_sync(provider=provider)
        fake.clear_calls()
        yield fake, provider


def test_full_activation_costs_two_upstream_calls_plus_shared_polls(upstream, api, customer_with_key):
    fake, provider = upstream
    customer, key = customer_with_key(balance="100.00")
    reply = api(key, "getNumber", service="tg", country="22")
    a = Activation.objects.get(pk=int(reply.split(":")[1]))
    assert (a.price, a.cost_pkr) == (Decimal("7.00"), Decimal("7.00"))  # 2.00 RUB x 3.50, no markup rule
    assert api(key, "getStatus", id=a.pk) == "STATUS_WAIT_CODE"

    provider_sync_statuses(provider_id=provider.pk)  # a poll with nothing new
    fake.deliver_sms(a.upstream_id, "54321", "Your Telegram code: 54321")
    provider_sync_statuses(provider_id=provider.pk)
    assert api(key, "getStatus", id=a.pk) == "STATUS_OK:54321"
    assert api(key, "getFullSms", id=a.pk) == "FULL_SMS:Your Telegram code: 54321"
    assert api(key, "setStatus", id=a.pk, status="6") == "ACCESS_ACTIVATION"

    calls = Counter(fake.actions())
    per_activation = calls["getNumberV2"] + calls["setStatus"] + calls["getStatus"] + calls["getStatusV2"]
    assert per_activation == 2, calls  # buy + finish; getStatus never reaches the upstream
    assert calls["getActiveActivations"] == 2  # the shared batched polls
    assert fake.activations[int(a.upstream_id)].status == "finished"
    assert balance_of(customer) == Decimal("93.00")
    assert account("revenue") == Decimal("7.00") and account("upstream_cost") == Decimal("7.00")


def test_cancel_is_forwarded_and_no_numbers_passes_through(upstream, api, customer_with_key):
    fake, provider = upstream
    customer, key = customer_with_key(balance="100.00")
    assert api(key, "getNumber", service="wa", country="22") == "NO_NUMBERS"  # stock 0: never asked upstream
    assert "getNumberV2" not in fake.actions()
    reply = api(key, "getNumber", service="tg", country="22")
    a = Activation.objects.get(pk=int(reply.split(":")[1]))
    age(a, 150)
    assert api(key, "setStatus", id=a.pk, status="8") == "ACCESS_CANCEL"
    assert ("setStatus", "8") in [(action, params.get("status")) for action, params in fake.calls]
    a.refresh_from_db()
    assert a.upstream_pending == ""
    assert fake.activations[int(a.upstream_id)].status == "cancelled"
    assert balance_of(customer) == Decimal("100.00")


def test_upstream_502_on_buy_is_unknown_not_a_second_purchase(upstream, api, customer_with_key):
    fake, provider = upstream
    customer, key = customer_with_key(balance="100.00")
    fake.next_response("getNumberV2", "<html><body>502 Bad Gateway</body></html>", status=502)
    reply = api(key, "getNumber", service="tg", country="22")
    assert reply.startswith("ERROR_PROVIDER_1:HTTP 502")
    assert Counter(fake.actions())["getNumberV2"] == 1
    assert Activation.objects.get().state == "unknown"
    assert balance_of(customer) == Decimal("100.00")
