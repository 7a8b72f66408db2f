"""One deadline for a whole purchase (issue: three providers answering in 11 s each outlived
the 30 s gunicorn worker: an HTML 500, the hold kept, the order stuck in `requesting`).

- through the real gunicorn config: three slow providers end in a protocol reply well
  inside the worker's timeout, with no hold left;
- the deadline cuts every call of the chain (connect, headers, body) and stops failover;
- a purchase interrupted anyway (its process died) is closed by the sweeper within a
  minute of its deadline, not after a whole activation lifetime."""

import time
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from billing.models import Hold
from billing.selectors import wallet_of
from billing.services import wallet_hold
from reseller.activations.lifecycle import activations_expire_due
from reseller.activations.purchase import PurchaseRequest, activation_purchase
from reseller.models import Activation, PurchaseAttempt
from reseller.orders.errors import NoNumbers, ProviderFailed
from tests.fakes.sms_activate import FakeSmsActivate
from tests.live.gunicorn import gunicorn_server
from tests.reseller.conftest import balance_of
from upstream.models import Country, Provider, Service
from upstream.providers import http
from upstream.providers.base import ProviderTimeout, ProviderUnavailable
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_providers():
    """Three providers with stock whose getNumberV2 answers NO_NUMBERS only after a delay."""
    fakes = [FakeSmsActivate(api_key=f"k{slot}").start() for slot in (1, 2, 3)]
    try:
        for slot, fake in enumerate(fakes, start=1):
            fake.set_offer(22, "tg", f"{9 + slot}.00", 5)  # slot 1 cheapest: tried first
            provider = provider_add(slot=slot, protocol="smsactivate", url=fake.url, api_key=f"k{slot}", currency="PKR")
            catalogue_sync(provider=provider)
        yield fakes
    finally:
        for fake in fakes:
            fake.stop()


def answer_late(fakes, seconds: float) -> None:
    for fake in fakes:
        for _ in range(3):
            fake.next_response("getNumberV2", "NO_NUMBERS")
        fake.delay(seconds, actions=["getNumberV2"])


def buy(customer):
    return activation_purchase(
        PurchaseRequest(
            customer_id=customer.pk,
            wallet_id=wallet_of(customer).pk,
            service=Service.objects.get(code="tg"),
            country=Country.objects.get(pk=22),
        )
    )


def test_three_slow_providers_under_gunicorn_get_a_protocol_reply(slow_providers, customer_with_key):
    customer, key = customer_with_key(balance="100.00")
    answer_late(slow_providers, 11)
    with gunicorn_server() as server:  # the production config: sync workers, 30 s timeout
        started = time.monotonic()
        response = urllib.request.urlopen(
            f"{server.url}/stubs/handler_api.php?api_key={key}&action=getNumber&service=tg&country=22", timeout=60
        )
        took = time.monotonic() - started
        body = response.read().decode()
        assert "WORKER TIMEOUT" not in server.log()
    assert response.status == 200
    # Slot 1 said NO_NUMBERS after 11 s; slot 2 was cut by the deadline (an unknown outcome).
    assert body == "ERROR_PROVIDER_2:TIMEOUT", body
    assert took < 30, took  # inside the worker's timeout (the deadline is 20 s)
    activation = Activation.objects.get()
    assert activation.state == "unknown" and activation.upstream_pending == "reconcile"
    assert not Hold.objects.filter(status=Hold.Status.OPEN).exists()
    assert balance_of(customer) == Decimal("100.00")
    assert [fake.actions().count("getNumberV2") for fake in slow_providers] == [1, 1, 0]  # slot 3 never asked


@override_settings(PURCHASE_DEADLINE_SECONDS=1.5, PURCHASE_MIN_ATTEMPT_SECONDS=0.5)
def test_failover_stops_when_the_deadline_leaves_too_little(slow_providers, customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    answer_late(slow_providers, 0.6)
    with pytest.raises(NoNumbers):
        buy(customer)  # 0.6 s + 0.6 s: 0.3 s left, less than the 0.5 s an attempt needs
    assert [fake.actions().count("getNumberV2") for fake in slow_providers] == [1, 1, 0]
    assert Activation.objects.get().state == "failed"
    assert balance_of(customer) == Decimal("100.00")


@override_settings(PURCHASE_DEADLINE_SECONDS=1.0)
def test_a_slow_body_is_cut_at_the_deadline(slow_providers, customer_with_key):
    """The provider's own timeout (15 s for the headers, 15 s more for the body) would let it
    hold the request for 30 s; the deadline ends it."""
    customer, _ = customer_with_key(balance="100.00")
    slow_providers[0].next_response(
        "getNumberV2", '{"activationId":"1","phoneNumber":"919000000001"}', chunk_delay=0.2, chunk_size=2
    )
    started = time.monotonic()
    with pytest.raises(ProviderFailed) as failed:
        buy(customer)
    assert time.monotonic() - started < 5
    assert failed.value.raw == "TIMEOUT"
    attempt = PurchaseAttempt.objects.get()
    assert attempt.outcome == "unknown"


def test_http_call_honours_the_deadline_and_sends_nothing_after_it(slow_providers):
    fake = slow_providers[0]
    provider = Provider.objects.get(slot=1)
    fake.delay(2, actions=["getBalance"])
    with http.deadline(0.3), pytest.raises(ProviderTimeout):
        http.call(provider, {"action": "getBalance"})
    before = len(fake.actions())
    with http.deadline(0), pytest.raises(ProviderUnavailable):
        http.call(provider, {"action": "getBalance"})
    assert len(fake.actions()) == before  # nothing was sent
    with http.deadline(5), http.deadline(0.2):  # the earlier one wins
        assert 0 < http.time_left() <= 0.2
    assert http.time_left() is None


def test_an_interrupted_purchase_is_swept_within_a_minute_of_its_deadline(slow_providers, customer_with_key):
    customer, _ = customer_with_key(balance="100.00")
    # What a purchase killed between its phases leaves behind: the order and its open hold.
    activation = Activation.objects.create(
        customer=customer,
        provider=Provider.objects.get(slot=1),
        service=Service.objects.get(code="tg"),
        country=Country.objects.get(pk=22),
        price=Decimal("10.00"),
        cost=Decimal("10.00"),
        cost_pkr=Decimal("10.00"),
    )
    hold = wallet_hold(
        wallet=wallet_of(customer),
        amount=Decimal("10.00"),
        key=f"activation:{activation.pk}:hold:0",
        expires_at=timezone.now() + timedelta(hours=1),
    ).hold
    Activation.objects.filter(pk=activation.pk).update(hold=hold)
    assert balance_of(customer) == Decimal("90.00")

    Activation.objects.filter(pk=activation.pk).update(created_at=timezone.now() - timedelta(seconds=30))
    assert activations_expire_due() == 0  # 30 s: it may still be running (deadline 20 s + 60 s grace)
    Activation.objects.filter(pk=activation.pk).update(created_at=timezone.now() - timedelta(seconds=90))
    assert activations_expire_due() == 1  # 90 s: it was interrupted; not 20 minutes as before
    activation.refresh_from_db()
    assert (activation.state, activation.upstream_pending) == ("unknown", "reconcile")
    assert balance_of(customer) == Decimal("100.00")
