"""Reconciliation never touches a number an order in flight may own (issue: numbers a
customer had just received were cancelled), and links an unknown order only to a
number provably its own.

The in-flight window is real: a purchase whose upstream call has returned but whose
phase 3 has not committed. The tests hold it open with a PostgreSQL row lock on the
provider row (the purchase records the provider's health right after the upstream
answers, before it records the number), so the reconcile pass runs while the
upstream has sold the numbers and no order owns them yet."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.selectors import wallet_of
from reseller.activations.purchase import PurchaseRequest, activation_purchase
from reseller.activations.reconcile import provider_reconcile
from reseller.models import Activation, UpstreamOrphan
from reseller.orders.errors import ProviderFailed
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.conftest import account, balance_of
from upstream.models import Country, Provider, SandboxActivation, Service
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake():
    with FakeSmsActivate(api_key="k") as server:
        server.set_offer(22, "tg", "10.00", 50)
        yield server


@pytest.fixture
def provider(fake):
    row = provider_add(
        slot=1, protocol="smsactivate", url=fake.url, api_key="k", currency="PKR", config={"timeout_seconds": 0.5}
    )
    catalogue_sync(provider=row)
    return row


def request_for(customer) -> PurchaseRequest:
    return PurchaseRequest(
        customer_id=customer.pk,
        wallet_id=wallet_of(customer).pk,
        service=Service.objects.get(code="tg"),
        country=Country.objects.get(pk=22),
    )


def unknown_order(customer, fake, *, sold: bool) -> Activation:
    """A purchase that timed out: the upstream sold the number (`sold`) or never got the request."""
    if sold:
        fake.delay(1.0, actions=["getNumberV2"])
    else:
        fake.next_response("getNumberV2", None)  # the connection drops mid-request: nothing sold
    with pytest.raises(ProviderFailed):
        activation_purchase(request_for(customer))
    if sold:
        wait_for(lambda: len(fake.activations) == 1)  # the slow upstream carried the order out after all
    fake.delay(0)
    activation = Activation.objects.get(customer=customer)
    assert (activation.state, activation.upstream_pending) == ("unknown", "reconcile")
    return activation


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = timezone.now() + timedelta(seconds=timeout)
    while not predicate():
        assert timezone.now() < deadline, "timed out"
        threading.Event().wait(0.02)


def purchases_in_flight(provider, customers, fake, sold_before: int):
    """Start one purchase per customer and return once the upstream has sold every number
    while none of them is recorded: the caller holds the provider row locked."""
    results, threads = {}, []

    def buy(customer):
        try:
            results[customer.pk] = activation_purchase(request_for(customer))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[customer.pk] = exc
        finally:
            connection.close()

    for customer in customers:
        threads.append(threading.Thread(target=buy, args=(customer,)))
        threads[-1].start()
    wait_for(lambda: len(fake.activations) >= sold_before + len(customers))
    return results, threads


def test_numbers_of_purchases_in_flight_are_never_cancelled(provider, fake, customer_with_key):
    a, _ = customer_with_key(balance="100.00", username="a")
    unknown = unknown_order(a, fake, sold=False)  # reconciliation has work: it reads the active list
    buyers = [customer_with_key(balance="100.00", username=f"b{i}")[0] for i in range(5)]

    with transaction.atomic():
        Provider.objects.select_for_update(no_key=True).get(pk=provider.pk)  # phase 3 waits behind this lock
        results, threads = purchases_in_flight(provider, buyers, fake, sold_before=0)
        assert not Activation.objects.exclude(upstream_id="").exists()  # sold upstream, owned by no order yet
        with transaction.atomic():  # the reconcile pass (its own connection would block on nothing it needs)
            report = provider_reconcile(provider_id=provider.pk)
    for thread in threads:
        thread.join(timeout=30)

    assert report["cancelled"] == 0 and report["waiting"] == 5
    assert all(isinstance(r, Activation) and r.state == "active" for r in results.values()), results
    assert all(a.status == "waiting" for a in fake.activations.values())  # every sold number still live
    unknown.refresh_from_db()
    assert unknown.upstream_id == ""  # never linked to another customer's number
    for buyer in buyers:
        assert balance_of(buyer) == Decimal("90.00")

    # The next pass sees them owned: they are settled as such and never cancelled.
    UpstreamOrphan.objects.update(first_seen_at=timezone.now() - timedelta(minutes=10))
    report = provider_reconcile(provider_id=provider.pk)
    assert report["cancelled"] == 0
    assert set(UpstreamOrphan.objects.values_list("outcome", flat=True)) == {"owned"}
    assert all(a.status == "waiting" for a in fake.activations.values())


def test_a_real_orphan_is_cancelled_once_no_purchase_can_own_it(provider, fake, customer_with_key):
    a, _ = customer_with_key(balance="100.00", username="a")
    unknown = unknown_order(a, fake, sold=True)
    (orphan_id,) = fake.activations
    assert unknown.upstream_id == ""

    first = provider_reconcile(provider_id=provider.pk)
    assert first["cancelled"] == 0 and first["waiting"] == 1  # too young: an order in flight may own it
    assert fake.activations[orphan_id].status == "waiting"

    # Older than any purchase, but a purchase that began before it was first seen is still in flight.
    UpstreamOrphan.objects.update(first_seen_at=timezone.now() - timedelta(minutes=2))
    b, _ = customer_with_key(balance="100.00", username="b")
    in_flight = Activation.objects.create(
        customer=b, provider=provider, service=unknown.service, country=unknown.country, price=Decimal("10.00")
    )
    Activation.objects.filter(pk=in_flight.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    assert provider_reconcile(provider_id=provider.pk)["cancelled"] == 0
    Activation.objects.filter(pk=in_flight.pk).update(state="failed")

    report = provider_reconcile(provider_id=provider.pk)
    assert report["cancelled"] == 1 and report["losses"] == 0
    assert fake.activations[orphan_id].status == "cancelled"
    assert UpstreamOrphan.objects.get().outcome == "cancelled"
    unknown.refresh_from_db()
    assert unknown.upstream_id == ""  # no reference in the list: not provably its number, so not linked
    assert balance_of(a) == Decimal("100.00")


def test_an_orphan_that_got_its_code_is_finished_and_booked_as_a_loss(provider, fake, customer_with_key):
    """An upstream refuses to cancel a number after its SMS (SMS-Activate: BAD_STATUS): it is
    billed anyway, so reconciliation books the loss and finishes it instead."""
    a, _ = customer_with_key(balance="100.00", username="a")
    unknown_order(a, fake, sold=True)
    (orphan_id,) = fake.activations
    fake.deliver_sms(orphan_id, "123456")
    provider_reconcile(provider_id=provider.pk)  # first seen
    UpstreamOrphan.objects.update(first_seen_at=timezone.now() - timedelta(minutes=2))
    report = provider_reconcile(provider_id=provider.pk)
    assert report["losses"] == 1 and report["cancelled"] == 1
    assert fake.activations[orphan_id].status == "finished"
    assert UpstreamOrphan.objects.get().outcome == "loss"
    assert account("losses") == Decimal("10.00")
    assert balance_of(a) == Decimal("100.00")
    assert provider_reconcile(provider_id=provider.pk)["losses"] == 0  # booked once


def test_an_unknown_order_is_not_linked_to_another_customers_number(provider, fake, customer_with_key):
    """The old matcher linked an unknown order to any unowned number of the same service."""
    a, _ = customer_with_key(balance="100.00", username="a")
    unknown = unknown_order(a, fake, sold=False)
    b, _ = customer_with_key(balance="100.00", username="b")
    with transaction.atomic():
        Provider.objects.select_for_update(no_key=True).get(pk=provider.pk)
        results, threads = purchases_in_flight(provider, [b], fake, sold_before=0)
        with transaction.atomic():
            provider_reconcile(provider_id=provider.pk)
    threads[0].join(timeout=30)
    bought = results[b.pk]
    assert isinstance(bought, Activation) and bought.state == "active"
    unknown.refresh_from_db()
    assert unknown.upstream_id == "" and unknown.phone == ""
    assert fake.activations[int(bought.upstream_id)].status == "waiting"


@pytest.fixture
def sandbox_timeouts():
    """A sandbox upstream that sells the number but never answers (every buy is an unknown outcome);
    its active list carries our order reference (`orderId`)."""
    provider = provider_add(
        slot=2, protocol="sandbox", url="", api_key="", name="sandbox", config={"sms_delay_seconds": 3600}
    )
    catalogue_sync(provider=provider)
    provider.config = {**provider.config, "fail": "timeout"}
    provider.save(update_fields=["config"])
    return provider


def test_by_reference_each_unknown_order_gets_its_own_number(sandbox_timeouts, customer_with_key):
    orders = []
    for name in ("a", "b", "c"):
        customer, _ = customer_with_key(balance="100.00", username=name)
        with pytest.raises(ProviderFailed):
            activation_purchase(request_for(customer))
        orders.append(Activation.objects.get(customer=customer))
    report = provider_reconcile(provider_id=sandbox_timeouts.pk)
    assert report["cancelled"] == 3 and report["closed"] == 3
    for order in orders:
        order.refresh_from_db()
        number = SandboxActivation.objects.get(pk=int(order.upstream_id))
        assert number.order_ref == f"act{order.pk}" and number.status == "cancelled"
        assert order.upstream_pending == ""


def test_a_referenced_number_of_an_order_in_flight_is_left_alone(sandbox_timeouts, customer_with_key):
    a, _ = customer_with_key(balance="100.00", username="a")
    with pytest.raises(ProviderFailed):
        activation_purchase(request_for(a))  # an unknown order: reconciliation reads the list
    b, _ = customer_with_key(balance="100.00", username="b")
    sandbox_timeouts.config = {**sandbox_timeouts.config, "fail": ""}
    sandbox_timeouts.save(update_fields=["config"])
    bought = activation_purchase(request_for(b))
    # As if its phase 3 had not committed yet: requesting, its number not recorded.
    Activation.objects.filter(pk=bought.pk).update(state="requesting", upstream_id="", phone="")

    provider_reconcile(provider_id=sandbox_timeouts.pk)
    assert SandboxActivation.objects.get(order_ref=f"act{bought.pk}").status == "waiting"
    unknown = Activation.objects.get(customer=a)
    own = SandboxActivation.objects.get(order_ref=f"act{unknown.pk}")
    assert (unknown.upstream_id, own.status) == (str(own.pk), "cancelled")
    Activation.objects.filter(pk=bought.pk).update(state="active", upstream_id=bought.upstream_id, phone=bought.phone)
