"""The rental domain on the sandbox's rentals: paid up front, SMS over the period, renewals charged
once per request key, cancel refunded only inside the upstream's window, expiry, unknown outcomes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.markup import markup_set
from billing.models import Hold, Transfer
from billing.selectors import wallet_of
from reseller.models import Rental, RentalRenewal
from reseller.orders.errors import InsufficientFunds, OrderAlreadyEnded
from reseller.rentals.errors import NoRentalPricing, RentalCannotCancel
from reseller.rentals.lifecycle import (
    rental_apply_upstream,
    rental_cancel,
    rental_finish,
    rental_forward_upstream,
    rental_renew,
    rentals_expire_due,
    rentals_sync,
)
from reseller.rentals.purchase import RentalRequest, rental_purchase
from tests.reseller.conftest import balance_of
from upstream.models import Country, Provider, SandboxRental, Service
from upstream.services import catalogue_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def renting():
    provider = Provider.objects.create(
        slot=1, protocol="sandbox", name="sandbox", config={"rent_sms_every_seconds": 60}
    )
    catalogue_sync(provider=provider)
    markup_set(scope="global", percent="10")
    markup_set(scope="global", percent="20", product="rental")
    return provider


def rent(customer, *, hours=24, service="tg", country=22) -> Rental:
    return rental_purchase(
        RentalRequest(
            customer_id=customer.pk,
            wallet_id=wallet_of(customer).pk,
            country=Country.objects.get(pk=country),
            service=Service.objects.get(code=service) if service else None,
            hours=hours,
        )
    )


def back_in_time(rental: Rental, seconds: int) -> None:
    """Move both sides of a rental into the past instead of sleeping."""
    delta = timedelta(seconds=seconds)
    Rental.objects.filter(pk=rental.pk).update(
        activated_at=rental.activated_at - delta,
        created_at=rental.created_at - delta,
        expires_at=rental.expires_at - delta,
    )
    row = SandboxRental.objects.get(pk=int(rental.upstream_id))
    row.started_at -= delta
    row.ends_at -= delta
    row.save()
    rental.refresh_from_db()


def test_a_rental_is_paid_up_front_and_named_in_the_ledger(renting, customer_with_key):
    customer, _ = customer_with_key(balance="5000.00")
    rental = rent(customer)
    assert rental.state == "active" and rental.phone and rental.upstream_id
    assert rental.price == (rental.cost_pkr * Decimal("1.2")).quantize(Decimal("0.01"))  # the rental rule
    assert balance_of(customer) == Decimal("5000.00") - rental.price
    assert rental.expires_at - rental.activated_at <= timedelta(hours=24)
    assert Hold.objects.get(pk=rental.hold_id).status == "captured"
    money = set(Transfer.objects.filter(order_kind="rental", order_pk=rental.pk).values_list("kind", flat=True))
    assert money == {"capture", "upstream_cost"}


def test_sms_arrive_over_the_period_and_are_stored_once(renting, customer_with_key):
    customer, _ = customer_with_key(balance="5000.00")
    rental = rent(customer)
    assert rentals_sync(provider_id=renting.pk) == 1 and rental.messages.count() == 0
    back_in_time(rental, 150)  # the sandbox sends one every 60 s
    rentals_sync(provider_id=renting.pk)
    first = rental.messages.count()
    assert first >= 2 and all(m.text for m in rental.messages.all())
    rentals_sync(provider_id=renting.pk)
    assert rental.messages.count() == first  # nothing twice


def test_a_renewal_is_charged_once_per_request_key_and_moves_the_end(renting, customer_with_key):
    customer, _ = customer_with_key(balance="5000.00")
    rental = rent(customer)
    before, end = balance_of(customer), rental.expires_at
    renewal = rental_renew(rental=rental, hours=24, request_key="r1", wallet_id=wallet_of(customer).pk)
    assert renewal.state == "done" and balance_of(customer) == before - renewal.price
    rental.refresh_from_db()
    assert rental.expires_at > end
    again = rental_renew(rental=rental, hours=24, request_key="r1", wallet_id=wallet_of(customer).pk)
    assert again.pk == renewal.pk and balance_of(customer) == before - renewal.price
    assert Transfer.objects.filter(order_kind="renewal", order_pk=renewal.pk, kind="capture").count() == 1
    with pytest.raises(NoRentalPricing):
        rental_renew(rental=rental, hours=5, request_key="r2", wallet_id=wallet_of(customer).pk)


def test_cancel_inside_the_window_is_refunded_in_full(renting, customer_with_key):
    customer, _ = customer_with_key(balance="5000.00")
    rental = rent(customer)
    rental_cancel(rental=rental)
    assert rental.state == "cancelled" and balance_of(customer) == Decimal("5000.00")
    kinds = sorted(Transfer.objects.filter(order_kind="rental", order_pk=rental.pk).values_list("kind", flat=True))
    assert kinds == ["capture", "refund", "upstream_cost", "upstream_refund"]
    assert SandboxRental.objects.get(pk=int(rental.upstream_id)).status == "cancelled"
    with pytest.raises(OrderAlreadyEnded):
        rental_cancel(rental=rental)


def test_cancel_after_the_window_or_an_sms_is_refused(renting, customer_with_key):
    customer, _ = customer_with_key(balance="5000.00")
    late = rent(customer)
    back_in_time(late, 25 * 60)
    with pytest.raises(RentalCannotCancel):
        rental_cancel(rental=late)
    with_sms = rent(customer)
    back_in_time(with_sms, 70)
    rentals_sync(provider_id=renting.pk)
    assert with_sms.messages.exists()
    with pytest.raises(RentalCannotCancel):
        rental_cancel(rental=with_sms)
    assert Rental.objects.filter(state="active").count() == 2


def test_finish_reaches_the_upstream_and_expiry_ends_a_rental(renting, customer_with_key):
    customer, _ = customer_with_key(balance="5000.00")
    done = rent(customer)
    rental_finish(rental=done)
    assert done.state == "finished"
    rental_forward_upstream(rental_id=done.pk)
    done.refresh_from_db()
    assert done.upstream_pending == "" and SandboxRental.objects.get(pk=int(done.upstream_id)).status == "finished"
    old = rent(customer, hours=12)
    paid = balance_of(customer)
    Rental.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert rentals_expire_due() == 1
    old.refresh_from_db()
    assert old.state == "expired" and balance_of(customer) == paid  # paid up front: nothing moves
    with pytest.raises(OrderAlreadyEnded):
        rental_renew(rental=old, hours=24, request_key="late", wallet_id=wallet_of(customer).pk)


def test_no_balance_rents_nothing_and_a_cancel_upstream_refunds(renting, customer_with_key):
    poor, _ = customer_with_key(balance="1.00")
    with pytest.raises(InsufficientFunds):
        rent(poor)
    assert not Rental.objects.filter(state="active").exists() and balance_of(poor) == Decimal("1.00")
    customer, _ = customer_with_key(balance="5000.00")
    rental = rent(customer)
    SandboxRental.objects.filter(pk=int(rental.upstream_id)).update(status="cancelled", ended_at=timezone.now())
    from upstream.providers import client_for

    rental_apply_upstream(rental=rental, status=client_for(renting).rent_status(rental.upstream_id))
    rental.refresh_from_db()
    assert rental.state == "cancelled" and balance_of(customer) == Decimal("5000.00")


def test_a_full_rental_has_no_service(renting, customer_with_key):
    customer, _ = customer_with_key(balance="50000.00")
    rental = rent(customer, service=None, hours=168)
    assert rental.service is None and rental.state == "active"
    assert RentalRenewal.objects.count() == 0


def test_an_unknown_outcome_refunds_the_customer_and_is_reconciled(renting, customer_with_key):
    from datetime import timedelta as td

    from reseller.orders.errors import ProviderFailed
    from reseller.rentals.lifecycle import rentals_reconcile

    customer, _ = customer_with_key(balance="5000.00")
    Provider.objects.filter(pk=renting.pk).update(config={"fail": "timeout", "fail_actions": ["rent"]})
    with pytest.raises(ProviderFailed):
        rent(customer)
    lost = Rental.objects.get()
    assert (lost.state, lost.upstream_pending) == ("unknown", "reconcile")
    assert balance_of(customer) == Decimal("5000.00")  # the hold was released
    row = SandboxRental.objects.get()  # the sandbox rented it anyway (a timeout after the sale)
    assert rentals_reconcile() == 0  # its number is not known: too early to book anything
    Rental.objects.filter(pk=lost.pk).update(created_at=lost.created_at - td(hours=2))
    assert rentals_reconcile() == 1
    lost.refresh_from_db()
    assert lost.upstream_pending == "" and "loss" in lost.failure
    assert Transfer.objects.filter(order_kind="rental", order_pk=lost.pk, kind="loss").count() == 1
    assert row.pk


def test_the_beat_task_syncs_rentals_and_resends_a_lost_finish(renting, customer_with_key):
    from reseller.tasks import sync_rentals

    customer, _ = customer_with_key(balance="5000.00")
    live, done = rent(customer), rent(customer)
    back_in_time(live, 130)
    Rental.objects.filter(pk=done.pk).update(state="finished", upstream_pending="finish")  # its message was lost
    assert sync_rentals.delay().get() == 2  # one sync for the provider, one finish re-sent
    assert live.messages.count() >= 2
    done.refresh_from_db()
    assert done.upstream_pending == "" and SandboxRental.objects.get(pk=int(done.upstream_id)).status == "finished"
