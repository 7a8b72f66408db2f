"""Whole rentals through rental-handler.php on the sandbox: rent, SMS arriving over the period
(the rental sync task), renewals (once per request_id), more SMS, expiry, and what an ended
rental still answers."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from reseller.models import Rental, RentalRenewal
from reseller.rentals.lifecycle import rentals_expire_due, rentals_sync
from reseller.tasks import sync_provider_rentals
from tests.reseller.conftest import balance_of
from tests.reseller.rentals import rental_handler_support as support
from tests.reseller.rentals.rental_handler_support import back_in_time, expect, local, utc

pytestmark = pytest.mark.django_db
rh, servers = support.rh, support.servers  # fixtures


def reply(response) -> dict:
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert isinstance(data["status"], str)
    return data


def sms_values(rental: Rental) -> dict:
    values = {}
    for n, sms in enumerate(rental.messages.order_by("id"), start=1):
        values |= {
            f"sms{n}": sms.pk,
            f"from{n}": sms.sender,
            f"text{n}": sms.text,
            f"code{n}": sms.code,
            f"at{n}": utc(sms.received_at),
        }
    return values


def test_rent_sms_renew_more_sms_expiry(servers, customer_with_key, rh):
    customer, key = customer_with_key(balance="5000.00")
    rented = reply(rh(key, "rentNumber", country_code="in", provider="1", duration_hours="24"))
    assert rented["status"] == "200" and rented["price_paid"] == "480.00" and rented["new_balance"] == "4520.00"
    rental = Rental.objects.get(pk=int(rented["order_id"]))
    assert rented["phone"] == rental.phone and rented["expires"] == local(rental.expires_at)
    assert reply(rh(key, "getRentalSMS", order_id=rented["order_id"]))["messages"] == []

    back_in_time(rental, 150)  # the sandbox sends one SMS a minute
    sync_provider_rentals(rental.provider_id)  # the task the beat sends per provider
    assert rental.messages.count() == 2
    response = rh(key, "getRentalSMS", order_id=rented["order_id"])
    expect(response, "getRentalSMS", **sms_values(rental))
    first = reply(response)["messages"]
    assert all(m["text"] and m["from"] for m in first)
    assert all(m["code"] and m["code"].replace("-", "") in m["text"].replace("-", "") for m in first)

    # a renewal with a request_id is bought once, however often it is sent
    listed = reply(rh(key, "getMyRentals"))["rentals"]
    assert [r["id"] for r in listed] == [rented["order_id"]] and listed[0]["expiry_time"] == local(rental.expires_at)
    renewed = reply(rh(key, "renewRental", rental_id=listed[0]["id"], duration_hours="24", request_id="renew-1"))
    again = reply(rh(key, "renewRental", rental_id=listed[0]["id"], duration_hours="24", request_id="renew-1"))
    assert renewed["status"] == again["status"] == "200" and renewed["new_expiry"] == again["new_expiry"]
    assert balance_of(customer) == Decimal("4040.00") and RentalRenewal.objects.count() == 1
    rental.refresh_from_db()
    assert renewed["new_expiry"] == local(rental.expires_at)
    assert abs(rental.expires_at - rental.activated_at - timedelta(hours=48)) < timedelta(seconds=1)
    assert reply(rh(key, "getMyRentals"))["rentals"][0]["expiry_time"] == renewed["new_expiry"]

    back_in_time(rental, 120)
    rentals_sync(provider_id=rental.provider_id)
    later = reply(rh(key, "getRentalSMS", order_id=rented["order_id"]))["messages"]
    assert len(later) == 4 and later[:2] == first  # oldest first, nothing twice

    back_in_time(rental, 48 * 3600)
    assert rentals_expire_due() == 1
    listed = reply(rh(key, "getMyRentals"))["rentals"]
    assert listed[0]["status"] == "expired"
    expect(rh(key, "renewRental", rental_id=listed[0]["id"], duration_hours="24", request_id="renew-2"), "not_active")
    assert balance_of(customer) == Decimal("4040.00")
    assert len(reply(rh(key, "getRentalSMS", order_id=rented["order_id"]))["messages"]) == 4  # still readable


def test_renewals_without_request_id_are_each_their_own(servers, customer_with_key, rh):
    customer, key = customer_with_key(balance="5000.00")
    rented = reply(rh(key, "rentNumber", country_code="pk", provider="1", duration_hours="12"))
    price = Decimal(rented["price_paid"])
    for _ in range(2):
        assert reply(rh(key, "renewRental", rental_id=rented["order_id"], duration_hours="12"))["status"] == "200"
    assert balance_of(customer) == Decimal("5000.00") - 3 * price
    assert RentalRenewal.objects.filter(state="done").count() == 2


def test_server_2_rents_and_renews_monthly_only(servers, customer_with_key, rh):
    customer, key = customer_with_key(balance="100000.00")
    expect(rh(key, "rentNumber", country_code="in", provider="2", duration_hours="24"), "server2_monthly")
    rented = reply(rh(key, "rentNumber", country_code="in", provider="2", duration_hours="720"))
    assert rented["status"] == "200" and rented["duration_hours"] == 720
    rental = Rental.objects.get(pk=int(rented["order_id"]))
    assert rental.server == 2 and rental.provider == servers[1]
    assert reply(rh(key, "getMyRentals"))["rentals"][0]["server"] == "Server 2"
    back_in_time(rental, 90)
    rentals_sync(provider_id=servers[1].pk)
    assert len(reply(rh(key, "getRentalSMS", order_id=rented["order_id"]))["messages"]) == 1
    expect(rh(key, "renewRental", rental_id=rented["order_id"], duration_hours="168"), "server2_monthly")
    renewed = reply(rh(key, "renewRental", rental_id=rented["order_id"], duration_hours="4320"))
    assert renewed["status"] == "200" and renewed["duration_hours"] == 4320
    rental.refresh_from_db()
    assert abs(rental.expires_at - rental.activated_at - timedelta(hours=720 + 4320)) < timedelta(seconds=1)
    assert Decimal(renewed["new_balance"]) == balance_of(customer)


def test_a_finished_or_cancelled_rental_is_listed_so(servers, customer_with_key, rh):
    from reseller.rentals.lifecycle import rental_cancel, rental_finish

    _, key = customer_with_key(balance="5000.00")
    one = reply(rh(key, "rentNumber", country_code="in", provider="1", duration_hours="12"))
    two = reply(rh(key, "rentNumber", country_code="us", provider="1", duration_hours="12"))
    rental_cancel(rental=Rental.objects.get(pk=int(one["order_id"])))
    rental_finish(rental=Rental.objects.get(pk=int(two["order_id"])))
    listed = {r["order_id"]: r for r in reply(rh(key, "getMyRentals"))["rentals"]}
    assert listed[one["order_id"]]["status"] == "cancelled" and listed[two["order_id"]]["status"] == "expired"
    assert listed[two["order_id"]]["country_code"] == "us"
    assert list(listed) == [two["order_id"], one["order_id"]]  # newest first
    expect(rh(key, "renewRental", rental_id=one["order_id"], duration_hours="12"), "not_active")
