"""A cheap order is bought by the order core like any activation: failover across providers
for a server on any provider, the attempt history, and unknown outcomes (a timeout) settled by
reconciliation. The upstreams are fake SMS-Activate servers over real HTTP."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Hold, Transfer
from reseller.activations.reconcile import provider_reconcile
from reseller.models import Activation, UpstreamOrphan
from reseller.orders.attempts import attempts_of
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.cheap.conftest import order_of, server_on
from tests.reseller.conftest import balance_of
from upstream.models import Provider, SandboxActivation
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def fakes():
    """Slot 1 sells tg/22 at 10.00 PKR, slot 2 at 12.00: slot 1 is tried first."""
    servers = [FakeSmsActivate(api_key=f"k{slot}").start() for slot in (1, 2)]
    try:
        for slot, fake in enumerate(servers, start=1):
            fake.set_offer(22, "tg", f"{8 + 2 * slot}.00", 5)
            provider = provider_add(
                slot=slot,
                protocol="smsactivate",
                url=fake.url,
                api_key=f"k{slot}",
                currency="PKR",
                config={"timeout_seconds": 0.5},
            )
            catalogue_sync(provider=provider)
        yield servers
    finally:
        for fake in servers:
            fake.stop()


@pytest.fixture
def buyer(customer_with_key):
    return customer_with_key(balance="100.00")


def test_any_provider_fails_over_to_the_next(fakes, cheap_text, buyer):
    customer, key = buyer
    server = server_on(None, name="Telegram India, any provider")  # --slot any
    assert server.provider_id is None
    fakes[0].next_response("getNumberV2", "NO_NUMBERS")

    order = order_of(cheap_text(key, "buyNumber", server=str(server.pk)))

    assert order.provider.slot == 2 and order.price == Decimal("12.00")
    assert order.phone in {a.phone for a in fakes[1].activations.values()}
    assert not fakes[0].activations
    attempts = list(attempts_of(order))
    assert [(a.order_kind, a.order_pk) for a in attempts] == [("cheap", order.pk)] * 2
    assert [(a.provider.slot, a.outcome, a.price) for a in attempts] == [
        (1, "no_numbers", Decimal("10.00")),
        (2, "bought", Decimal("12.00")),
    ]
    assert balance_of(customer) == Decimal("88.00")
    assert Hold.objects.get(pk=order.hold_id).amount == Decimal("12.00")  # the first hold was released
    assert Hold.objects.filter(status="released", order_kind="cheap", order_pk=order.pk).count() == 1


def test_a_server_on_one_slot_never_fails_over(fakes, cheap_text, buyer):
    customer, key = buyer
    server = server_on(Provider.objects.get(slot=1), name="Telegram India, slot 1")
    fakes[0].next_response("getNumberV2", "NO_NUMBERS")
    assert cheap_text(key, "buyNumber", server=str(server.pk)) == "NO_NUMBERS"
    assert not fakes[1].activations
    order = Activation.objects.get()
    assert order.state == "failed" and [a.outcome for a in attempts_of(order)] == ["no_numbers"]
    assert balance_of(customer) == Decimal("100.00")


def test_every_provider_refusing_is_no_numbers(fakes, cheap_text, buyer):
    customer, key = buyer
    server = server_on(None)
    fakes[0].next_response("getNumberV2", "NO_NUMBERS")
    fakes[1].next_response("getNumberV2", "ERROR_SQL")
    assert cheap_text(key, "buyNumber", server=str(server.pk)) == "NO_NUMBERS"
    assert [a.outcome for a in attempts_of(Activation.objects.get())] == ["no_numbers", "error"]
    assert balance_of(customer) == Decimal("100.00")


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = timezone.now() + timedelta(seconds=timeout)
    while not predicate():
        assert timezone.now() < deadline, "timed out"
        threading.Event().wait(0.02)


def test_a_timeout_is_no_numbers_charges_nothing_and_is_reconciled(fakes, cheap_text, buyer):
    customer, key = buyer
    fake = fakes[0]
    server = server_on(Provider.objects.get(slot=1))
    fake.delay(1.0, actions=["getNumberV2"])  # our timeout is 0.5 s: the upstream sells it after all

    assert cheap_text(key, "buyNumber", server=str(server.pk)) == "NO_NUMBERS"

    order = Activation.objects.get()
    assert (order.kind, order.state, order.upstream_pending) == ("cheap", "unknown", "reconcile")
    assert [a.outcome for a in attempts_of(order)] == ["unknown"]
    assert balance_of(customer) == Decimal("100.00")
    assert Hold.objects.get(pk=order.hold_id).status == "released"
    assert not Transfer.objects.filter(kind="capture").exists()
    assert cheap_text(key, "getStatus", id=f"ORD_{order.pk}") == "STATUS_CANCEL"
    wait_for(lambda: len(fake.activations) == 1)
    fake.delay(0)
    (orphan_id,) = fake.activations

    # Its listing carries no reference of ours: the number is left alone until no purchase can own it ...
    first = provider_reconcile(provider_id=order.provider_id)
    assert first["waiting"] == 1 and first["cancelled"] == 0
    assert fake.activations[orphan_id].status == "waiting"
    UpstreamOrphan.objects.update(first_seen_at=timezone.now() - timedelta(minutes=2))
    # ... then cancelled upstream (no code reached it: no loss) ...
    second = provider_reconcile(provider_id=order.provider_id)
    assert second["cancelled"] == 1 and second["losses"] == 0
    assert fake.activations[orphan_id].status == "cancelled"
    # ... and the order, with no number of its own found, closed once its lifetime is over.
    Activation.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert provider_reconcile(provider_id=order.provider_id)["closed"] == 1
    order.refresh_from_db()
    assert (order.state, order.upstream_pending) == ("unknown", "")
    assert balance_of(customer) == Decimal("100.00")
    assert cheap_text(key, "setStatus", id=f"ORD_{order.pk}", status="8") == "ACCESS_READY"


def test_a_timeout_with_our_reference_is_settled_in_one_pass(sandbox, cheap_text, buyer):
    """An upstream that lists our order reference (the sandbox) lets reconciliation link the
    number to the cheap order at once."""
    customer, key = buyer
    sandbox.config = {**sandbox.config, "fail": "timeout"}  # sells the number, never answers
    sandbox.save(update_fields=["config"])
    server = server_on(sandbox, price=Decimal("99.00"))  # tg/22 costs 96.00

    assert cheap_text(key, "buyNumber", server=str(server.pk)) == "NO_NUMBERS"
    order = Activation.objects.get()
    assert (order.state, order.upstream_pending) == ("unknown", "reconcile")

    report = provider_reconcile(provider_id=sandbox.pk)
    assert report["cancelled"] == 1 and report["closed"] == 1 and report["losses"] == 0
    order.refresh_from_db()
    number = SandboxActivation.objects.get(pk=int(order.upstream_id))
    assert number.order_ref == f"act{order.pk}" and number.status == "cancelled"
    assert order.upstream_pending == ""
    assert balance_of(customer) == Decimal("100.00")


HTML_500 = "<html><body><h1>500 Internal Server Error</h1></body></html>"


def test_unreadable_reply_without_selling_fails_over_in_the_same_request(fakes, cheap_text, buyer):
    """An HTTP 500 from slot 1, checked at once against its active list: nothing sold, so slot 2
    sells (issue 11: no lost sale on an unreadable reply)."""
    customer, key = buyer
    server = server_on(None, name="Telegram India, any provider")
    fakes[0].next_response("getNumberV2", HTML_500, status=500)

    order = order_of(cheap_text(key, "buyNumber", server=str(server.pk)))

    assert order.provider.slot == 2 and not fakes[0].activations
    assert [a.outcome for a in attempts_of(order)] == ["error", "bought"]
    assert balance_of(customer) == Decimal("88.00")


def test_unreadable_reply_after_selling_gives_the_customer_that_number(fakes, cheap_text, buyer):
    customer, key = buyer
    server = server_on(None, name="Telegram India, any provider")
    fakes[0].next_response("getNumberV2", HTML_500, status=500, carry_out=True)

    order = order_of(cheap_text(key, "buyNumber", server=str(server.pk)))

    ((sold_id, sold),) = fakes[0].activations.items()
    assert (order.provider.slot, order.upstream_id, order.phone) == (1, str(sold_id), sold.phone)
    assert sold.order_id == f"act{order.pk}"
    assert "getNumberV2" not in fakes[1].actions()  # slot 2 is never asked to sell
    assert [a.outcome for a in attempts_of(order)] == ["bought"]
    assert balance_of(customer) == Decimal("90.00")
