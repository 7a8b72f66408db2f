"""Whole rentals through OUR HTTP endpoints against each rent fake (real HTTP to the upstream):
SMS-Activate's and Get-SMS's rentals through handler_api.php's rent actions, OTPGet's through
rental-handler.php. Rent -> several SMS over the period -> renew (charged once per request key)
-> more SMS -> expiry -> a renewal refused; cancel inside the refund window refunded, after it
(or once the upstream has an SMS) refused."""

from datetime import timedelta
from decimal import Decimal

import pytest

from reseller.models import Rental, RentalRenewal
from reseller.rentals.lifecycle import rentals_expire_due, rentals_sync
from tests.reseller.conftest import balance_of
from tests.reseller.rentals import fake_flows_support as support
from tests.reseller.rentals.fake_flows_support import INDIA, age_ours, hours_of

pytestmark = pytest.mark.django_db
sa_fake, sa_provider, sa = support.sa_fake, support.sa_provider, support.sa  # fixtures
gs_fakes, gs_provider = support.gs_fakes, support.gs_provider
or_fake, or_provider, rh = support.or_fake, support.or_provider, support.rh

START = Decimal("5000.00")
PAST_WINDOW = 21 * 60  # RENTAL_REFUND_SECONDS and both fakes' windows are 20 minutes
PAST_END = 49 * 3600  # past a 24 h rental renewed by 24 h


def error(reply: dict, message: str) -> None:
    assert reply == {"status": "error", "message": message}, reply


def rent_on_handler_api(sa, key, provider) -> Rental:
    reply = sa(key, "getRentNumber", service="tg", country=str(INDIA), rent_time="24")
    assert reply["status"] == "success", reply
    rental = Rental.objects.get(pk=reply["phone"]["id"])
    assert rental.provider == provider and rental.state == "active" and rental.hours == 24
    assert reply["phone"]["number"] == rental.phone and rental.upstream_id
    return rental


def texts(sa, key, rental) -> list[str]:
    reply = sa(key, "getRentStatus", id=rental.pk)
    assert reply["status"] == "success" and reply["quantity"] == str(len(reply["values"])), reply
    return sorted(v["text"] for v in reply["values"].values())


def handler_api_flow(sa, key, customer, provider, *, push, age_upstream, upstream_end):
    """The whole flow on handler_api.php; `push(upstream_id, text)` sends an SMS at the fake,
    `age_upstream(upstream_id, seconds)` moves the fake's rental into the past."""
    rental = rent_on_handler_api(sa, key, provider)
    price = rental.price
    assert price > 0 and balance_of(customer) == START - price
    error(sa(key, "getRentStatus", id=rental.pk), "STATUS_WAIT_CODE")

    push(rental.upstream_id, "Telegram code 11111")
    push(rental.upstream_id, "Telegram code 22222")
    rentals_sync(provider_id=provider.pk)
    assert texts(sa, key, rental) == ["Telegram code 11111", "Telegram code 22222"]
    rentals_sync(provider_id=provider.pk)
    assert rental.messages.count() == 2  # nothing twice

    end_before = upstream_end(rental.upstream_id)
    renewed = sa(key, "continueRentNumber", id=rental.pk, rent_time="24", requestId="renew-1")
    again = sa(key, "continueRentNumber", id=rental.pk, rent_time="24", requestId="renew-1")
    assert renewed["status"] == "success" and renewed == again, (renewed, again)
    renewal = RentalRenewal.objects.get(rental=rental)
    assert renewal.state == "done" and renewal.price > 0
    assert balance_of(customer) == START - price - renewal.price  # charged once
    assert abs(hours_of(rental) - 48) < Decimal("0.01")
    assert upstream_end(rental.upstream_id) - end_before == timedelta(hours=24)  # prolonged once upstream

    push(rental.upstream_id, "Telegram code 33333")
    rentals_sync(provider_id=provider.pk)
    assert texts(sa, key, rental) == ["Telegram code 11111", "Telegram code 22222", "Telegram code 33333"]

    age_upstream(rental.upstream_id, PAST_END)
    age_ours(rental, PAST_END)
    assert rentals_expire_due() == 1
    rental.refresh_from_db()
    assert rental.state == "expired"
    error(sa(key, "getRentStatus", id=rental.pk), "STATUS_FINISH")
    error(sa(key, "continueRentNumber", id=rental.pk, rent_time="24", requestId="renew-2"), "RENT_DIE")
    assert balance_of(customer) == START - price - renewal.price  # expiry moves nothing
    assert RentalRenewal.objects.filter(rental=rental).count() == 1


def handler_api_cancels(sa, key, customer, provider, *, push, age_upstream, upstream_status):
    inside = rent_on_handler_api(sa, key, provider)
    assert sa(key, "setRentStatus", id=inside.pk, status="2") == {"status": "success"}
    inside.refresh_from_db()
    assert inside.state == "cancelled" and balance_of(customer) == START
    assert upstream_status(inside.upstream_id) == "cancelled"
    error(sa(key, "setRentStatus", id=inside.pk, status="2"), "ALREADY_CANCEL")

    late = rent_on_handler_api(sa, key, provider)
    age_upstream(late.upstream_id, PAST_WINDOW)
    age_ours(late, PAST_WINDOW)
    error(sa(key, "setRentStatus", id=late.pk, status="2"), "CANT_CANCEL")

    # inside our window, but the upstream already has an SMS we have not synced: it refuses
    with_sms = rent_on_handler_api(sa, key, provider)
    push(with_sms.upstream_id, "Telegram code 44444")
    error(sa(key, "setRentStatus", id=with_sms.pk, status="2"), "CANT_CANCEL")

    for rental in (late, with_sms):
        rental.refresh_from_db()
        assert rental.state == "active" and upstream_status(rental.upstream_id) == "active"
    assert balance_of(customer) == START - late.price - with_sms.price  # refused: nothing refunded


# --- SMS-Activate ------------------------------------------------------------------------------


def test_sms_activate_rent_sms_renew_more_sms_expiry(sa_provider, sa_fake, customer_with_key, sa):
    customer, key = customer_with_key(balance=str(START))
    fake_balance = sa_fake.balance
    handler_api_flow(
        sa,
        key,
        customer,
        sa_provider,
        push=lambda rid, text: sa_fake.deliver_rent_sms(rid, text, service="tg"),
        age_upstream=sa_fake.age_rental,
        upstream_end=lambda rid: sa_fake.rentals[int(rid)].end,
    )
    assert sa_fake.balance == fake_balance - 2 * Decimal("21.95")  # the rent and one prolongation


def test_sms_activate_cancel_inside_and_after_the_window(sa_provider, sa_fake, customer_with_key, sa):
    customer, key = customer_with_key(balance=str(START))
    handler_api_cancels(
        sa,
        key,
        customer,
        sa_provider,
        push=lambda rid, text: sa_fake.deliver_rent_sms(rid, text, service="tg"),
        age_upstream=sa_fake.age_rental,
        upstream_status=lambda rid: sa_fake.rentals[int(rid)].status,
    )


# --- Get-SMS -----------------------------------------------------------------------------------


def test_getsms_rent_sms_renew_more_sms_expiry(gs_provider, gs_fakes, customer_with_key, sa):
    _, fake = gs_fakes
    customer, key = customer_with_key(balance=str(START))
    fake_balance = fake.balance
    handler_api_flow(
        sa,
        key,
        customer,
        gs_provider,
        push=fake.deliver_sms,
        age_upstream=lambda rid, seconds: fake.advance(seconds),  # the fake's clock: one rental here
        upstream_end=lambda rid: timedelta(seconds=fake.rentals[int(rid)].end),
    )
    assert fake.balance == fake_balance - 2 * Decimal("40")


def test_getsms_cancel_inside_and_after_the_window(gs_provider, gs_fakes, customer_with_key, sa):
    _, fake = gs_fakes
    customer, key = customer_with_key(balance=str(START))
    handler_api_cancels(
        sa,
        key,
        customer,
        gs_provider,
        push=fake.deliver_sms,
        # advancing the fake's clock ages every rental there; `inside` is already cancelled then
        age_upstream=lambda rid, seconds: fake.advance(seconds),
        upstream_status=lambda rid: fake.rentals[int(rid)].state,
    )


def test_getsms_has_no_full_rental(gs_provider, customer_with_key, sa):
    customer, key = customer_with_key(balance=str(START))
    error(sa(key, "getRentNumber", service="full", country=str(INDIA), rent_time="24"), "NO_NUMBERS")
    assert balance_of(customer) == START and not Rental.objects.filter(state="active").exists()


# --- OTPGet rental-handler.php -----------------------------------------------------------------


def test_otpget_rental_rent_sms_renew_more_sms_expiry(or_provider, or_fake, customer_with_key, rh):
    customer, key = customer_with_key(balance=str(START))
    fake_balance = or_fake.balance
    rented = rh(key, "rentNumber", country_code="pk", provider="1", duration_hours="24")
    assert rented["status"] == "200", rented
    rental = Rental.objects.get(pk=int(rented["order_id"]))
    assert rental.provider == or_provider and rental.service is None and rental.server == 1
    assert Decimal(rented["price_paid"]) == rental.price == Decimal("216.00")  # 180 + 20 %
    assert balance_of(customer) == Decimal(rented["new_balance"]) == START - rental.price
    assert rh(key, "getRentalSMS", order_id=rented["order_id"])["messages"] == []

    or_fake.deliver_sms(rental.upstream_id, "Your WhatsApp code 740-279", code="740279")
    or_fake.deliver_sms(rental.upstream_id, "Telegram code 55555", code="55555")
    rentals_sync(provider_id=or_provider.pk)
    rentals_sync(provider_id=or_provider.pk)
    first = rh(key, "getRentalSMS", order_id=rented["order_id"])["messages"]
    assert [m["text"] for m in first] == ["Your WhatsApp code 740-279", "Telegram code 55555"]  # oldest first, once
    assert [m["code"] for m in first] == ["740279", "55555"]

    renewed = rh(key, "renewRental", rental_id=rented["order_id"], duration_hours="24", request_id="renew-1")
    again = rh(key, "renewRental", rental_id=rented["order_id"], duration_hours="24", request_id="renew-1")
    assert renewed["status"] == again["status"] == "200" and renewed["new_expiry"] == again["new_expiry"], renewed
    assert Decimal(renewed["price_paid"]) == Decimal("216.00") and RentalRenewal.objects.count() == 1
    assert balance_of(customer) == START - 2 * rental.price  # the renewal charged once
    assert abs(hours_of(rental) - 48) < Decimal("0.01")
    assert or_fake.balance == fake_balance - 2 * Decimal("180.00")  # renewed once upstream too

    or_fake.deliver_sms(rental.upstream_id, "Telegram code 66666", code="66666")
    rentals_sync(provider_id=or_provider.pk)
    later = rh(key, "getRentalSMS", order_id=rented["order_id"])["messages"]
    assert len(later) == 3 and later[:2] == first and later[2]["text"] == "Telegram code 66666"

    or_fake.advance(PAST_END)
    age_ours(rental, PAST_END)
    assert rentals_expire_due() == 1
    assert rh(key, "getMyRentals")["rentals"][0]["status"] == "expired"
    refused = rh(key, "renewRental", rental_id=rented["order_id"], duration_hours="24", request_id="renew-2")
    assert refused == {"status": "400", "message": "Rental is not active."}
    assert balance_of(customer) == START - 2 * rental.price
    assert len(rh(key, "getRentalSMS", order_id=rented["order_id"])["messages"]) == 3  # still readable


def test_otpget_rental_cannot_be_cancelled(or_provider, or_fake, customer_with_key, rh, sa):
    """OTPGet's rental-handler.php has no cancel (nor finish), neither ours (its seven actions) nor
    the upstream's, so "cancel inside the window" cannot be refunded here. Our surfaces: a cancel
    action on rental-handler.php is an unknown action; SMS-Activate's setRentStatus 2 on this
    rental (the customer's rentals are one list) asks the upstream, whose client is Unsupported,
    which our cancel reads as a permanent refusal: CANT_CANCEL, nothing changed, nothing
    refunded, the rental stays active (docs/rentals.md, setRentStatus)."""
    customer, key = customer_with_key(balance=str(START))
    rented = rh(key, "rentNumber", country_code="pk", provider="1", duration_hours="24")
    rental = Rental.objects.get(pk=int(rented["order_id"]))
    paid = balance_of(customer)
    assert paid == START - rental.price
    unknown = rh(key, "cancelRental", rental_id=rented["order_id"])
    assert unknown["status"] == "400", unknown
    error(sa(key, "setRentStatus", id=rental.pk, status="2"), "CANT_CANCEL")
    rental.refresh_from_db()
    assert rental.state == "active" and balance_of(customer) == paid
    assert [r.status for r in or_fake.rentals] == ["active"]
