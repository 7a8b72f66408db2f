"""SmsActivateClient's getMultiServiceNumber, checkExtraActivation and getExtraActivation
(sms_activate_reuse.py) against the fake SMS-Activate server, and the replies it refuses to read."""

from decimal import Decimal

import pytest

from tests.upstream.sms_activate.conftest import TG_INDIA
from upstream.models import Provider
from upstream.providers import client_for
from upstream.providers.base import (
    BadResponse,
    ExtraImpossible,
    ExtraNotAvailable,
    MultiRequest,
    NoNumbers,
    ProviderError,
    ProviderNoBalance,
    SimOffline,
    UnknownActivation,
    Unsupported,
)

pytestmark = pytest.mark.django_db
TG_WA = MultiRequest(services=("tg", "wa"), country=22)


@pytest.fixture
def stocked(fake):
    fake.set_offer(22, "wa", "3.00", 2)
    return fake


def test_multi_buy_one_number_one_activation_per_service(client, stocked):
    assert client.supports_multi_service and client.supports_extra_activation
    tg, wa = client.multi_buy(TG_WA)
    assert tg.phone == wa.phone and tg.upstream_id != wa.upstream_id and tg.cost is None
    live = stocked.activations
    assert (live[int(tg.upstream_id)].service, live[int(wa.upstream_id)].service) == ("tg", "wa")
    assert stocked.balance == Decimal("1000") - Decimal("15.50")
    assert ("getMultiServiceNumber", "tg,wa") in [(a, p.get("multiService")) for a, p in stocked.calls]


def test_multi_buy_errors(client, stocked):
    with pytest.raises(NoNumbers):
        client.multi_buy(MultiRequest(services=("tg", "go"), country=22))
    stocked.balance = "1.00"
    with pytest.raises(ProviderNoBalance):
        client.multi_buy(TG_WA)


@pytest.mark.parametrize(
    "body",
    [
        '{"0":{"phone":"79001","activation":"5","service":"tg"},"1":{"phone":"79001","activation":"6","service":"wa"}}',
        '[{"phone":79001,"activation":5,"service":"wa"},{"phone":"+79001","activation":"6","service":"tg"}]',
    ],
)
def test_multi_buy_reads_php_objects_and_any_order(client, fake, body):
    fake.next_response("getMultiServiceNumber", body)
    tg, wa = client.multi_buy(TG_WA)
    assert {tg.upstream_id, wa.upstream_id} == {"5", "6"} and tg.phone == wa.phone == "79001"


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        "{}",
        '[{"phone":"79001","activation":"5","service":"tg"}]',  # wa missing
        '[{"phone":"79001","activation":"5","service":"tg"},{"phone":"79001","activation":"6","service":"tg"}]',
        '[{"phone":"79001","activation":"x","service":"tg"},{"phone":"79001","activation":"6","service":"wa"}]',
        '[{"phone":"","activation":"5","service":"tg"},{"phone":"79001","activation":"6","service":"wa"}]',
        '["tg","wa"]',
        "ACCESS_NUMBER:5:79001",
    ],
)
def test_multi_buy_unreadable_replies(client, fake, body):
    fake.next_response("getMultiServiceNumber", body)
    with pytest.raises(BadResponse):
        client.multi_buy(TG_WA)


def test_multi_buy_stated_error_is_a_refusal_not_unreadable(client, fake):
    fake.next_response("getMultiServiceNumber", '{"status":"error","message":"SOMETHING_ELSE"}')
    with pytest.raises(ProviderError) as exc:
        client.multi_buy(TG_WA)
    assert type(exc.value) is ProviderError and "SOMETHING_ELSE" in exc.value.raw


def _succeeded(client, fake):
    bought = client.buy(TG_INDIA)
    fake.deliver_sms(bought.upstream_id, "12345")
    return bought


def test_extra_check_and_buy(client, fake):
    parent = _succeeded(client, fake)
    fake.state.extra_costs["tg"] = Decimal("4.25")
    quote = client.extra_check(parent.upstream_id)
    assert (quote.cost, quote.service, quote.phone) == (Decimal("4.25"), "tg", parent.phone)
    extra = client.extra_buy(parent.upstream_id)
    assert extra.phone == parent.phone and extra.upstream_id != parent.upstream_id
    assert fake.activations[int(extra.upstream_id)].service == "tg"
    assert [p.get("activationId") for a, p in fake.calls if a.endswith("ExtraActivation")] == [parent.upstream_id] * 2


def test_extra_errors(client, fake):
    waiting = client.buy(TG_INDIA)
    with pytest.raises(ExtraNotAvailable):
        client.extra_check(waiting.upstream_id)
    with pytest.raises(UnknownActivation):
        client.extra_buy("999")
    parent = _succeeded(client, fake)
    fake.state.sim_offline.add(parent.phone)
    with pytest.raises(SimOffline):
        client.extra_check(parent.upstream_id)
    with pytest.raises(ExtraImpossible):
        client.extra_buy(parent.upstream_id)
    fake.state.sim_offline.clear()
    fake.balance = "0"
    with pytest.raises(ProviderNoBalance):
        client.extra_buy(parent.upstream_id)
    fake.next_response("checkExtraActivation", '{"status":"error","message":"RENEW_ACTIVATION_NOT_AVAILABLE"}')
    with pytest.raises(ExtraNotAvailable):
        client.extra_check(parent.upstream_id)


@pytest.mark.parametrize(
    "action,body",
    [
        ("checkExtraActivation", '{"status":"success","service":"tg"}'),
        ("checkExtraActivation", '{"status":"success","cost":-1}'),
        ("checkExtraActivation", '{"status":"success","cost":"abc"}'),
        ("checkExtraActivation", "OK"),
        ("getExtraActivation", "ACCESS_NUMBER:abc:79001"),
        ("getExtraActivation", "ACCESS_NUMBER:5:"),
        ("getExtraActivation", '{"activationId":5}'),
    ],
)
def test_extra_unreadable_replies(client, fake, action, body):
    fake.next_response(action, body)
    with pytest.raises(BadResponse):
        client.extra_check("5") if action == "checkExtraActivation" else client.extra_buy("5")


def test_compatible_variant_and_other_protocols_do_not_forward(fake):
    compat = client_for(Provider.objects.create(slot=2, protocol="smsactivate-compat", base_url=fake.url, api_key="k"))
    sandbox = client_for(Provider.objects.create(slot=3, protocol="sandbox", base_url="", api_key=""))
    for other in (compat, sandbox):
        assert not other.supports_multi_service and not other.supports_extra_activation
    with pytest.raises(Unsupported):
        sandbox.multi_buy(TG_WA)
    with pytest.raises(ProviderError):
        sandbox.extra_check("1")
