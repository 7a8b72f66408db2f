"""Routing across provider slots with health, the circuit breaker and the attempt history."""

from decimal import Decimal

import pytest
from django.test import override_settings

from reseller.models import Activation, PurchaseAttempt
from reseller.orders.attempts import attempts_of
from tests.reseller.conftest import age, balance_of, deliver_sms
from tests.reseller.test_flows import buy
from upstream.models import Provider, SandboxActivation, ServiceMapping
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


def sandbox_at(slot: int, cost: str, **config) -> Provider:
    provider = provider_add(
        slot=slot,
        protocol="sandbox",
        url="",
        api_key="",
        name=f"sandbox {slot}",
        config={"sms_delay_seconds": 3600, "prices": {"22": {"tg": {"cost": cost, "count": 5}}}, **config},
    )
    catalogue_sync(provider=provider)
    return provider


def fail(provider: Provider, mode: str) -> None:
    provider.config = {**provider.config, "fail": mode}
    provider.save(update_fields=["config"])


@pytest.fixture
def two(customer_with_key):
    customer, key = customer_with_key(balance="1000.00")
    return sandbox_at(1, "100.00"), sandbox_at(2, "120.00"), customer, key


def test_cheapest_first_and_attempts_recorded(api, two):
    one, second, customer, key = two
    fail(one, "error")
    a = buy(api, key)
    assert a.provider_id == second.pk
    history = list(attempts_of(a).values_list("provider__slot", "outcome", "raw"))
    assert history == [(1, "error", "ERROR_SQL"), (2, "bought", "")]
    assert balance_of(customer) == Decimal("880.00")


def test_all_fail_reports_last_error(api, two):
    one, second, customer, key = two
    fail(one, "no_numbers")
    fail(second, "error")
    assert api(key, "getNumber", service="tg", country="22") == "ERROR_PROVIDER_2:ERROR_SQL"
    fail(second, "no_numbers")
    assert api(key, "getNumber", service="tg", country="22") == "NO_NUMBERS"
    assert balance_of(customer) == Decimal("1000.00")


def test_max_price_skips_the_expensive_slot(api, two):
    one, second, customer, key = two
    fail(one, "no_numbers")
    assert api(key, "getNumber", service="tg", country="22", maxPrice="110") == "NO_NUMBERS"
    assert not SandboxActivation.objects.filter(provider=second).exists()


def test_timeout_on_slot_1_never_buys_on_slot_2(api, two):
    one, second, customer, key = two
    fail(one, "timeout")
    assert api(key, "getNumber", service="tg", country="22") == "ERROR_PROVIDER_1:TIMEOUT"
    assert not SandboxActivation.objects.filter(provider=second).exists()
    assert list(PurchaseAttempt.objects.values_list("outcome", flat=True)) == ["unknown"]


def test_type_1_never_falls_over_to_slot_2(api, two):
    one, second, customer, key = two
    fail(one, "error")
    assert api(key, "getNumber", service="tg", country="22", type="1") == "ERROR_PROVIDER_1:ERROR_SQL"
    assert not SandboxActivation.objects.filter(provider=second).exists()


@override_settings(PROVIDER_CIRCUIT_FAILURES=3, PROVIDER_CIRCUIT_COOLDOWN_SECONDS=60)
def test_circuit_opens_after_repeated_errors_and_closes_after_a_probe(api, two):
    one, second, customer, key = two
    fail(one, "error")
    for _ in range(3):
        assert buy(api, key).provider_id == second.pk
    one.refresh_from_db()
    assert one.consecutive_failures == 3 and one.circuit_open_until is not None
    assert one.success_rate < 1.0
    before = PurchaseAttempt.objects.filter(provider=one).count()
    assert buy(api, key).provider_id == second.pk  # slot 1 skipped: not even asked
    assert PurchaseAttempt.objects.filter(provider=one).count() == before
    assert api(key, "getNumber", service="tg", country="22", type="1") == "ERROR_PROVIDER_1:UNAVAILABLE"
    # Cooldown over, upstream healthy again: the next order probes slot 1 and closes the circuit.
    Provider.objects.filter(pk=one.pk).update(circuit_open_until=None, config={**one.config, "fail": ""})
    assert buy(api, key).provider_id == one.pk
    one.refresh_from_db()
    assert (one.consecutive_failures, one.circuit_open_until) == (0, None)


def test_success_rate_breaks_price_ties(api, customer_with_key):
    a, b = sandbox_at(1, "100.00"), sandbox_at(2, "100.00")
    Provider.objects.filter(pk=a.pk).update(success_rate=0.5)
    _, key = customer_with_key(balance="500.00")
    assert buy(api, key).provider_id == b.pk


def test_sms_rate_follows_arrivals(api, two):
    one, second, customer, key = two
    a = buy(api, key)
    deliver_sms(a)
    one.refresh_from_db()
    assert one.sms_rate == pytest.approx(1.0)
    from reseller.activations.lifecycle import activations_expire_due
    from tests.reseller.conftest import age

    b = buy(api, key)
    age(b, 1300)
    activations_expire_due()
    one.refresh_from_db()
    assert one.sms_rate == pytest.approx(0.9)


def test_service_mapping_sends_the_upstreams_own_code(api, two):
    one, second, customer, key = two
    from upstream.models import Service

    ServiceMapping.objects.create(provider=one, service=Service.objects.get(code="tg"), upstream_code="wa")
    Provider.objects.filter(pk=one.pk).update(
        config={
            **one.config,
            "prices": {"22": {"tg": {"cost": "100.00", "count": 5}, "wa": {"cost": "100.00", "count": 5}}},
        }
    )
    a = buy(api, key)
    assert a.provider_id == one.pk
    assert SandboxActivation.objects.get(pk=int(a.upstream_id)).service == "wa"
    assert Activation.objects.get(pk=a.pk).service.code == "tg"


def test_slot_1_refusing_the_price_falls_over_to_slot_2(api, two):
    """Slot 1 looks cheapest in our catalogue, but its upstream now charges more than the
    maxPrice we send (our quoted cost): it refuses, and slot 2 sells within the customer's cap."""
    one, second, customer, key = two
    Provider.objects.filter(pk=one.pk).update(
        config={**one.config, "prices": {"22": {"tg": {"cost": "130.00", "count": 5}}}}
    )
    a = buy(api, key, maxPrice="125")
    assert a.provider_id == second.pk and a.price == Decimal("120.00")
    assert list(attempts_of(a).values_list("provider__slot", "outcome")) == [
        (1, "price"),
        (2, "bought"),
    ]
    assert balance_of(customer) == Decimal("880.00")


def test_the_sms_rate_counts_numbers_that_got_their_sms_too(sandbox, api, customer_with_key):
    """Both outcomes feed the SMS rate: a number that got its SMS, and one that ended without."""
    from upstream.health import health_text

    _, key = customer_with_key(balance="500.00")
    got = Activation.objects.get(pk=int(api(key, "getNumber", service="tg", country="0").split(":")[1]))
    deliver_sms(got)
    sandbox.refresh_from_db()
    assert (sandbox.sms_outcomes_seen, sandbox.sms_rate) == (1, 1.0)
    assert health_text(sandbox).endswith("SMS 100%")

    missed = Activation.objects.get(pk=int(api(key, "getNumber", service="tg", country="0").split(":")[1]))
    age(missed, 180)  # past the early-cancel window
    assert api(key, "setStatus", id=str(missed.pk), status="8") == "ACCESS_CANCEL"
    sandbox.refresh_from_db()
    assert sandbox.sms_outcomes_seen == 2 and abs(sandbox.sms_rate - 0.9) < 1e-9
