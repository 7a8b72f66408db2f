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


# --- operators and excluded prefixes (issue 11) ----------------------------------------------------


@pytest.fixture
def two_upstreams(upstream):
    """Slot 1 (the fixture's, Indian operators jio and airtel) and a dearer slot 2 that also has vi."""
    fake, provider = upstream
    fake.set_operators(22, ["jio", "airtel"])
    catalogue_sync(provider=provider)
    with FakeSmsActivate(api_key="second-key") as second:
        second.set_offer(22, "tg", "3.00", 10)
        second.set_operators(22, ["airtel", "vi"])
        other = provider_add(
            slot=2, protocol="smsactivate", url=second.url, api_key="second-key", currency="RUB", rate=Decimal("3.50")
        )
        catalogue_sync(provider=other)
        fake.clear_calls()
        second.clear_calls()
        yield fake, second


def _bought(api, key, **params) -> Activation:
    reply = api(key, "getNumber", service="tg", country="22", **params)
    assert reply.startswith("ACCESS_NUMBER:"), reply
    return Activation.objects.get(pk=int(reply.split(":")[1]))


def test_get_operators_lists_what_the_upstreams_list(two_upstreams, api, customer_with_key):
    _, key = customer_with_key(balance="100.00")
    assert (
        api(key, "getOperators", country="22") == '{"status":"success","countryOperators":{"22":["airtel","jio","vi"]}}'
    )
    everything = api(key, "getOperators")
    assert (
        '"1":["kyivstar","life","mts","utel","vodafone"]' in everything and '"22":["airtel","jio","vi"]' in everything
    )


def test_operator_goes_to_the_upstream_listing_it_and_is_forwarded(two_upstreams, api, customer_with_key):
    first, second = two_upstreams
    _, key = customer_with_key(balance="100.00")
    a = _bought(api, key, operator="vi")
    assert (a.provider.slot, a.operator, a.price) == (2, "vi", Decimal("10.50"))
    assert second.calls[-1][1]["operator"] == "vi" and "getNumberV2" not in first.actions()
    b = _bought(api, key, operator="airtel")  # both list it: the cheaper
    assert (b.provider.slot, b.operator) == (1, "airtel") and first.calls[-1][1]["operator"] == "airtel"
    c = _bought(api, key, operator="VI,jio")  # each is asked only for what it lists
    assert (c.provider.slot, c.operator) == (1, "jio") and first.calls[-1][1]["operator"] == "jio"
    # Nobody lists it in India: any provider, asked as sent; it gives its first operator (SMS-Activate's API document).
    d = _bought(api, key, operator="beeline")
    assert d.provider.slot == 1 and first.calls[-1][1]["operator"] == "beeline" and d.operator == "jio"
    e = _bought(api, key)
    assert "operator" not in first.calls[-1][1] and e.operator == "any"


def test_phone_exception_is_forwarded_and_honoured(two_upstreams, api, customer_with_key):
    first, _ = two_upstreams
    _, key = customer_with_key(balance="100.00")
    a = _bought(api, key, phoneException="9191,9181")
    assert first.calls[-1][1]["phoneException"] == "9191,9181"
    assert not a.phone.startswith(("9191", "9181"))
    assert api(key, "getNumber", service="tg", country="22", phoneException="91") == "WRONG_EXCEPTION_PHONE"
    assert len(first.actions()) == 1  # a malformed list never reaches an upstream
