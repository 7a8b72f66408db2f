import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from upstream.models import Provider, SandboxActivation
from upstream.providers import client_for
from upstream.providers.base import (
    BadResponse,
    BuyRequest,
    CancelTooEarly,
    MaxPriceRefused,
    NoNumbers,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    SetStatus,
    UnknownActivation,
    UpstreamState,
)
from upstream.providers.sandbox import SandboxClient, sandbox_phone

pytestmark = pytest.mark.django_db

CALLING_CODES = {0: "7", 6: "62", 22: "91", 66: "92", 187: "1"}
LENGTHS = {0: 11, 6: 13, 22: 12, 66: 12, 187: 11}


@pytest.fixture
def sandbox():
    """make(slot=1, rate="1", **config) -> SandboxClient for a new sandbox provider."""

    def make(slot: int = 1, rate: str = "1", **config) -> SandboxClient:
        provider = Provider.objects.create(slot=slot, protocol="sandbox", rate_to_pkr=Decimal(rate), config=config)
        client = client_for(provider)
        assert isinstance(client, SandboxClient)
        return client

    return make


def sms_now(upstream_id: str) -> None:
    """Move the activation's SMS into the past instead of sleeping."""
    SandboxActivation.objects.filter(pk=int(upstream_id)).update(sms_due_at=timezone.now() - timedelta(seconds=1))


def test_catalogue_is_fixed_and_priced_in_the_providers_currency(sandbox):
    pkr, usd = sandbox(slot=1), sandbox(slot=2, rate="280")
    assert {c.id: c.name for c in pkr.countries()} == {
        0: "Russia",
        6: "Indonesia",
        22: "India",
        66: "Pakistan",
        187: "USA",
    }
    assert {"tg", "wa", "ig", "fb", "go", "ot"} == {s.code for s in pkr.services()}
    prices = {(p.country, p.service): p for p in pkr.prices()}
    assert len(prices) == 30
    assert prices[(66, "tg")].cost == Decimal("120.00")
    assert prices[(187, "tg")].cost == Decimal("240.00")  # the USA costs twice Pakistan
    assert all(p.count == 0 for (_, service), p in prices.items() if service == "ot")
    assert all(p.count > 0 and p.cost > 0 for (_, service), p in prices.items() if service != "ot")
    assert pkr.prices() == pkr.prices()  # deterministic
    usd_tg = usd.prices(country=66, service="tg")
    assert [(p.country, p.service, p.cost) for p in usd_tg] == [(66, "tg", Decimal("0.43"))]
    assert {p.country for p in pkr.prices(service="wa")} == set(CALLING_CODES)
    assert pkr.balance() == Decimal("100000")


def test_config_overrides_prices_and_balance(sandbox):
    client = sandbox(prices={"22": {"tg": {"cost": "9.50", "count": 3}, "wa": {"count": 0}}}, balance="42.5")
    [tg] = client.prices(country=22, service="tg")
    assert (tg.cost, tg.count) == (Decimal("9.50"), 3)
    [wa] = client.prices(country=22, service="wa")
    assert wa.count == 0 and wa.cost == Decimal("120.00")
    assert client.balance() == Decimal("42.5")
    with pytest.raises(NoNumbers):
        client.buy(BuyRequest(service="wa", country=22))


@pytest.mark.parametrize(
    "config",
    [
        {"fail": "sometimes"},
        {"fail_actions": "buy"},
        {"fail_actions": ["sell"]},
        {"sms_delay_seconds": "soon"},
        {"balance": -1},
        {"prices": {"999": {"tg": {"cost": 1}}}},
        {"prices": {"22": {"zz": {"cost": 1}}}},
        {"prices": {"22": {"tg": {"price": 1}}}},
        {"prices": {"22": {"tg": {"count": -1}}}},
    ],
)
def test_bad_config_is_a_provider_error(sandbox, config):
    client = sandbox(**config)
    with pytest.raises(ProviderError) as info:
        client.prices()
    assert info.value.raw == "SANDBOX_BAD_CONFIG"


def test_buy_issues_unique_plausible_numbers(sandbox):
    client = sandbox()
    phones = set()
    for country in CALLING_CODES:
        for _ in range(6):
            purchase = client.buy(BuyRequest(service="tg", country=country))
            assert purchase.phone.isdigit() and purchase.phone.startswith(CALLING_CODES[country])
            assert len(purchase.phone) == LENGTHS[country]
            assert purchase.cost == client.prices(country=country, service="tg")[0].cost
            assert purchase.raw == f"ACCESS_NUMBER:{purchase.upstream_id}:{purchase.phone}"
            row = SandboxActivation.objects.get(pk=int(purchase.upstream_id))
            assert (row.phone, row.service, row.country, row.status) == (purchase.phone, "tg", country, "waiting")
            phones.add(purchase.phone)
    assert len(phones) == 6 * len(CALLING_CODES)


def test_numbers_are_a_function_of_the_id_and_never_collide():
    assert sandbox_phone(12345, 66) == sandbox_phone(12345, 66)
    numbers = {sandbox_phone(i, 187) for i in range(1, 20001)}
    assert len(numbers) == 20000
    assert all(n[4] in "23456789" for n in numbers)  # a US exchange never starts with 0 or 1


def test_buy_honours_max_price_stock_and_balance(sandbox):
    client = sandbox(balance="100")
    [offer] = client.prices(country=66, service="fb")
    with pytest.raises(MaxPriceRefused) as info:
        client.buy(BuyRequest(service="fb", country=66, max_price=offer.cost - Decimal("0.01")))
    assert info.value.min_price == offer.cost and info.value.raw == f"WRONG_MAX_PRICE:{offer.cost}"
    assert client.buy(BuyRequest(service="fb", country=66, max_price=offer.cost)).cost == offer.cost
    with pytest.raises(NoNumbers):
        client.buy(BuyRequest(service="ot", country=66))
    with pytest.raises(ProviderNoBalance):
        client.buy(BuyRequest(service="wa", country=66))  # 150 PKR > balance 100
    with pytest.raises(ProviderError, match="BAD_SERVICE"):
        client.buy(BuyRequest(service="zz", country=66))
    with pytest.raises(ProviderError, match="BAD_COUNTRY"):
        client.buy(BuyRequest(service="tg", country=999))
    assert SandboxActivation.objects.count() == 1


def test_order_ref_is_idempotent(sandbox):
    client = sandbox()
    client.buy(BuyRequest(service="tg", country=22, order_ref="A1"))
    with pytest.raises(ProviderError, match="ORDER_ALREADY_EXISTS"):
        client.buy(BuyRequest(service="tg", country=22, order_ref="A1"))
    assert SandboxActivation.objects.count() == 1


def test_sms_arrives_after_the_delay_with_the_service_name(sandbox):
    client = sandbox()
    purchase = client.buy(BuyRequest(service="tg", country=0))
    waiting = client.status(purchase.upstream_id)
    assert (waiting.state, waiting.code, waiting.raw) == (UpstreamState.WAITING, None, "STATUS_WAIT_CODE")
    due = SandboxActivation.objects.get(pk=int(purchase.upstream_id)).sms_due_at
    assert timedelta(seconds=9) < due - timezone.now() <= timedelta(seconds=10)
    sms_now(purchase.upstream_id)
    got = client.status(purchase.upstream_id)
    assert got.state == UpstreamState.CODE and len(got.code) == 6 and got.code.isdigit()
    assert got.text == f"Your Telegram code is {got.code}" and got.raw == f"STATUS_OK:{got.code}"
    assert client_for(Provider.objects.get()).status(purchase.upstream_id) == got  # stable, any process


def test_zero_delay_delivers_at_the_next_read(sandbox):
    client = sandbox(sms_delay_seconds=0)
    purchase = client.buy(BuyRequest(service="wa", country=6))
    result = client.status(purchase.upstream_id)
    assert result.state == UpstreamState.CODE and result.text == f"Your Whatsapp code is {result.code}"


def test_retry_brings_a_fresh_code(sandbox):
    client = sandbox()
    purchase = client.buy(BuyRequest(service="ig", country=22))
    with pytest.raises(ProviderError, match="BAD_STATUS"):
        client.set_status(purchase.upstream_id, SetStatus.RETRY)  # no SMS yet
    sms_now(purchase.upstream_id)
    first = client.status(purchase.upstream_id).code
    assert client.set_status(purchase.upstream_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"
    assert client.set_status(purchase.upstream_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"  # idempotent
    waiting = client.status(purchase.upstream_id)
    assert (waiting.state, waiting.code, waiting.raw) == (UpstreamState.WAIT_RETRY, first, f"STATUS_WAIT_RETRY:{first}")
    sms_now(purchase.upstream_id)
    second = client.status(purchase.upstream_id)
    assert second.state == UpstreamState.CODE and second.code != first and second.code.isdigit()
    assert second.text == f"Your Instagram code is {second.code}"
    assert client.set_status(purchase.upstream_id, SetStatus.FINISH) == "ACCESS_ACTIVATION"
    assert client.set_status(purchase.upstream_id, SetStatus.FINISH) == "ACCESS_ACTIVATION"
    assert client.status(purchase.upstream_id).state == UpstreamState.FINISHED
    with pytest.raises(ProviderError, match="BAD_STATUS"):
        client.set_status(purchase.upstream_id, SetStatus.CANCEL)


def test_ready_cancel_and_finish_rules(sandbox):
    client = sandbox()
    purchase = client.buy(BuyRequest(service="go", country=187))
    assert client.set_status(purchase.upstream_id, SetStatus.READY) == "ACCESS_READY"
    with pytest.raises(ProviderError, match="BAD_STATUS"):
        client.set_status(purchase.upstream_id, SetStatus.FINISH)  # no SMS: finish is refused
    assert client.set_status(purchase.upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert client.set_status(purchase.upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    sms_now(purchase.upstream_id)
    cancelled = client.status(purchase.upstream_id)
    assert (cancelled.state, cancelled.code, cancelled.raw) == (UpstreamState.CANCELLED, None, "STATUS_CANCEL")
    for status in (SetStatus.READY, SetStatus.RETRY, SetStatus.FINISH):
        with pytest.raises(ProviderError, match="BAD_STATUS"):
            client.set_status(purchase.upstream_id, status)


def test_early_cancel_can_be_denied(sandbox):
    client = sandbox(min_cancel_seconds=120)
    purchase = client.buy(BuyRequest(service="tg", country=66))
    with pytest.raises(CancelTooEarly):
        client.set_status(purchase.upstream_id, SetStatus.CANCEL)
    SandboxActivation.objects.update(created_at=timezone.now() - timedelta(seconds=121))
    assert client.set_status(purchase.upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"


def test_activations_end_after_their_lifetime(sandbox):
    client = sandbox(lifetime_seconds=60)
    silent = client.buy(BuyRequest(service="tg", country=66))
    answered = client.buy(BuyRequest(service="wa", country=66))
    sms_now(answered.upstream_id)
    assert client.status(answered.upstream_id).state == UpstreamState.CODE
    SandboxActivation.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    assert client.status(silent.upstream_id).state == UpstreamState.CANCELLED
    assert client.status(answered.upstream_id).state == UpstreamState.FINISHED
    assert client.active_activations() == []


@pytest.mark.parametrize("upstream_id", ["999999", "abc", "", "-1", "99999999999999999999"])
def test_unknown_activation(sandbox, upstream_id):
    client = sandbox()
    with pytest.raises(UnknownActivation):
        client.status(upstream_id)
    with pytest.raises(UnknownActivation):
        client.set_status(upstream_id, SetStatus.CANCEL)


def test_another_providers_activation_is_unknown(sandbox):
    mine, theirs = sandbox(slot=1), sandbox(slot=2)
    purchase = theirs.buy(BuyRequest(service="tg", country=66))
    with pytest.raises(UnknownActivation):
        mine.status(purchase.upstream_id)
    assert mine.active_activations() == []


def test_active_activations_deliver_due_sms_and_skip_ended_ones(sandbox):
    client = sandbox()
    waiting = client.buy(BuyRequest(service="tg", country=66, order_ref="o-1"))
    coded = client.buy(BuyRequest(service="fb", country=22))
    ended = client.buy(BuyRequest(service="wa", country=0))
    client.set_status(ended.upstream_id, SetStatus.CANCEL)
    sms_now(coded.upstream_id)
    active = {a.upstream_id: a for a in client.active_activations()}
    assert set(active) == {waiting.upstream_id, coded.upstream_id}
    assert active[waiting.upstream_id].state == UpstreamState.WAITING
    assert active[waiting.upstream_id].raw["orderId"] == "o-1"
    assert active[waiting.upstream_id].phone == waiting.phone
    got = active[coded.upstream_id]
    assert got.state == UpstreamState.CODE and got.text == f"Your Facebook code is {got.code}"
    assert got.raw["smsCode"] == [got.code] and got.raw["activationStatus"] == "2"
    assert client.status(coded.upstream_id).code == got.code


@pytest.mark.parametrize(
    ("mode", "error", "raw"),
    [
        ("error", ProviderError, "ERROR_SQL"),
        ("no_numbers", NoNumbers, "NO_NUMBERS"),
        ("unavailable", ProviderUnavailable, ""),
        ("garbage", BadResponse, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    ],
)
def test_failures_happen_before_anything_is_bought(sandbox, mode, error, raw):
    client = sandbox(fail=mode)
    with pytest.raises(ProviderError) as info:
        client.buy(BuyRequest(service="tg", country=66))
    assert type(info.value) is error and info.value.raw == raw
    assert not SandboxActivation.objects.exists()
    assert len(client.prices()) == 30  # only buy fails unless fail_actions says otherwise


def test_timeout_on_buy_really_buys(sandbox):
    client = sandbox(fail="timeout")
    with pytest.raises(ProviderTimeout):
        client.buy(BuyRequest(service="tg", country=66, order_ref="lost-1"))
    [found] = client.active_activations()
    assert found.raw["orderId"] == "lost-1" and found.phone.startswith("92")
    assert client.set_status(found.upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"


def test_fail_actions_choose_what_fails(sandbox):
    client = sandbox(fail="unavailable", fail_actions=["prices", "status", "set_status"])
    purchase = client.buy(BuyRequest(service="tg", country=66))
    for call in (client.prices, lambda: client.status(purchase.upstream_id)):
        with pytest.raises(ProviderUnavailable):
            call()
    with pytest.raises(ProviderUnavailable):
        client.set_status(purchase.upstream_id, SetStatus.CANCEL)
    assert SandboxActivation.objects.get().status == "waiting"  # unavailable: nothing happened
    assert client.countries() and client.services() and client.balance()


def test_timeout_on_set_status_still_applies_it(sandbox):
    client = sandbox(fail="timeout", fail_actions=["set_status"])
    purchase = client.buy(BuyRequest(service="tg", country=66))
    with pytest.raises(ProviderTimeout):
        client.set_status(purchase.upstream_id, SetStatus.CANCEL)
    assert SandboxActivation.objects.get().status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_concurrent_readers_agree_on_the_code(sandbox):
    client = sandbox()
    purchase = client.buy(BuyRequest(service="tg", country=66))
    sms_now(purchase.upstream_id)
    codes, errors = [], []

    def read():
        try:
            codes.append(client_for(Provider.objects.get()).status(purchase.upstream_id).code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(codes) == 8 and len(set(codes)) == 1
    assert SandboxActivation.objects.get().code == codes[0]
