"""The acceptance test of the metrics (docs/metrics.md): through the real HTTP path a customer
buys, cancels and is failed over from one fake SMS-Activate upstream to another (real HTTP);
then the metrics path, read with the token and parsed as Prometheus parses it, shows the
counters moved by exactly that, with bounded labels, and the scrape-time gauges show the
database as it is. The registry is process-global across tests: counters are read as deltas."""

from decimal import Decimal

import pytest
from django.test import override_settings

from billing.models import Hold
from billing.verify import ledger_verify
from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.observability.scrape import TOKEN, delta, samples, scrape, value
from tests.reseller.conftest import balance_of
from upstream.models import Country, Provider, Service
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def fakes():
    """Slot 1 sells tg/22 at 10.00 PKR, slot 2 at 12.00: slot 1 is tried first."""
    Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})
    Country.objects.get_or_create(id=22, defaults={"name": "India"})
    servers = [FakeSmsActivate(api_key=f"k{slot}").start() for slot in (1, 2)]
    try:
        for slot, fake in enumerate(servers, start=1):
            fake.set_offer(22, "tg", f"{8 + 2 * slot}.00", 5)
            provider = provider_add(
                slot=slot, protocol="smsactivate", url=fake.url, api_key=f"k{slot}", config={"timeout_seconds": 2}
            )
            catalogue_sync(provider=provider)
        yield servers
    finally:
        for fake in servers:
            fake.stop()


def bought(reply: str) -> Activation:
    assert reply.startswith("ACCESS_NUMBER:"), reply
    return Activation.objects.get(pk=int(reply.split(":")[1]))


@override_settings(METRICS_TOKEN=TOKEN, CANCEL_GRACE_SECONDS=0)
def test_buy_cancel_and_failover_move_the_counters(client, api, fakes, customer_with_key):
    customer, key = customer_with_key(balance="100.00")
    before = scrape(client)

    first = bought(api(key, "getNumber", service="tg", country="22"))
    assert first.provider.slot == 1
    assert api(key, "setStatus", id=first.pk, status="8") == "ACCESS_CANCEL"
    assert fakes[0].activations[int(first.upstream_id)].status != "wait"  # the cancel reached slot 1

    fakes[0].next_response("getNumberV2", "NO_NUMBERS")
    second = bought(api(key, "getNumber", service="tg", country="22"))
    assert second.provider.slot == 2

    fakes[0].stop()  # slot 1 unreachable: nothing sent, the next provider sells
    third = bought(api(key, "getNumber", service="tg", country="22"))
    assert third.provider.slot == 2
    assert api(key, "getNumber", service="tg", country="22", maxPrice="5") == "WRONG_MAX_PRICE:10.00"  # no order
    assert api(key, "noSuchAction") == "BAD_ACTION"

    after = scrape(client)

    # Purchases by kind, provider and outcome.
    purchases = "reseller_purchases_total"
    assert delta(before, after, purchases, kind="activation", provider="1", outcome="bought") == 1
    assert delta(before, after, purchases, kind="activation", provider="2", outcome="failed_over") == 2
    assert delta(before, after, purchases) == 3  # the refused-before-any-order request is no purchase

    # HTTP by endpoint and action; the unknown action is `unknown`, never the caller's text.
    http = "reseller_http_requests_total"
    assert delta(before, after, http, endpoint="handler_api.php", action="getNumber", status="200") == 4
    assert delta(before, after, http, endpoint="handler_api.php", action="setStatus", status="200") == 1
    assert delta(before, after, http, endpoint="handler_api.php", action="unknown") == 1
    assert not [s for s in samples(after, http) if s.labels["action"] == "noSuchAction"]
    seconds = "reseller_http_request_duration_seconds_count"
    assert delta(before, after, seconds, endpoint="handler_api.php", action="getNumber") == 4
    assert delta(before, after, "reseller_http_request_duration_seconds_bucket", action="getNumber", le="+Inf") == 4

    # Upstream calls per provider and action, with their errors.
    calls = "reseller_upstream_request_duration_seconds_count"
    assert delta(before, after, calls, provider="1", action="getNumberV2") == 3
    assert delta(before, after, calls, provider="1", action="setStatus") == 1
    assert delta(before, after, calls, provider="2", action="getNumberV2") == 2
    errors = "reseller_upstream_errors_total"
    assert delta(before, after, errors, provider="1", action="getNumberV2", error="unavailable") == 1
    assert delta(before, after, errors, provider="2") == 0
    assert delta(before, after, errors) == 1  # NO_NUMBERS is an answer, not an HTTP failure

    # The cancel went upstream through the forwarding task (run in-process here).
    assert delta(before, after, "reseller_task_duration_seconds_count", task="reseller.forward_status") >= 1

    # Scrape-time gauges: the database as it is now.
    live = Activation.objects.filter(state="active")
    assert live.count() == 2
    assert value(after, "reseller_orders_live", kind="activation", state="active") == 2
    assert value(after, "reseller_holds_open") == Hold.objects.filter(status="open").count() == 2
    assert value(after, "reseller_holds_open_pkr") == float(Decimal("24.00"))
    assert balance_of(customer) == Decimal("76.00")
    for slot in ("1", "2"):
        assert value(after, "reseller_provider_circuit_state", provider=slot, state="closed") == 1
        assert value(after, "reseller_provider_circuit_state", provider=slot, state="open") == 0
        assert value(after, "reseller_provider_info", provider=slot, protocol="smsactivate") == 1
    assert value(after, "reseller_metrics_source_up", source="database") == 1


@override_settings(METRICS_TOKEN=TOKEN, PROVIDER_CIRCUIT_FAILURES=1)
def test_an_open_circuit_and_the_last_ledger_verify_are_shown(client, api, fakes, customer_with_key):
    _, key = customer_with_key(balance="100.00")
    fakes[0].stop()
    assert bought(api(key, "getNumber", service="tg", country="22")).provider.slot == 2
    assert Provider.objects.get(slot=1).circuit_open_until is not None
    families = scrape(client)
    assert value(families, "reseller_provider_circuit_state", provider="1", state="open") == 1
    assert value(families, "reseller_provider_circuit_state", provider="1", state="closed") == 0
    assert value(families, "reseller_provider_circuit_state", provider="2", state="closed") == 1

    assert not samples(families, "reseller_ledger_verify_ok")  # never run in this database: absent
    assert ledger_verify().ok
    families = scrape(client)
    assert value(families, "reseller_ledger_verify_ok") == 1
    assert value(families, "reseller_ledger_verify_violations") == 0
    assert value(families, "reseller_ledger_verify_timestamp_seconds") > 1.7e9


@override_settings(METRICS_TOKEN=TOKEN)
def test_a_purchase_without_balance_is_counted(client, api, fakes, customer_with_key):
    _, key = customer_with_key(balance="5.00")
    before = scrape(client)
    assert api(key, "getNumber", service="tg", country="22") == "NO_BALANCE"
    after = scrape(client)
    assert delta(before, after, "reseller_purchases_total", kind="activation", provider="1", outcome="no_balance") == 1
    assert delta(before, after, "reseller_upstream_request_duration_seconds_count") == 0  # nothing asked upstream


@pytest.fixture
def sandboxes(db):
    """Slots 1 and 2: sandbox upstreams (in-process, no HTTP) selling tg/22 at 100 and 120 PKR."""
    from tests.reseller.test_routing_health import sandbox_at

    return sandbox_at(1, "100.00"), sandbox_at(2, "120.00")


@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize(
    ("first", "second", "reply", "provider", "outcome"),
    [
        ("timeout", "", "ERROR_PROVIDER_1:TIMEOUT", "1", "unknown"),  # never failed over: reconciliation's
        ("no_numbers", "no_numbers", "NO_NUMBERS", "2", "no_numbers"),
        ("no_numbers", "error", "ERROR_PROVIDER_2:ERROR_SQL", "2", "error"),
        ("error", "", None, "2", "failed_over"),
    ],
)
def test_each_final_outcome_is_counted_once(
    client, api, sandboxes, customer_with_key, first, second, reply, provider, outcome
):
    from tests.reseller.test_routing_health import fail

    for sandbox, mode in zip(sandboxes, (first, second), strict=True):
        if mode:
            fail(sandbox, mode)
    _, key = customer_with_key(balance="1000.00")
    before = scrape(client)
    answer = api(key, "getNumber", service="tg", country="22")
    if reply is None:
        bought(answer)
    else:
        assert answer == reply
    after = scrape(client)
    assert delta(before, after, "reseller_purchases_total", kind="activation", provider=provider, outcome=outcome) == 1
    assert delta(before, after, "reseller_purchases_total") == 1
