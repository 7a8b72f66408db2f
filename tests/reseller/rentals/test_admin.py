"""Rentals in the admin: the list with its filters, a rental's SMS and renewals, ending one with a reason."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from billing.selectors import wallet_of
from reseller.models import Rental
from reseller.rentals.lifecycle import rental_renew, rentals_sync
from tests.reseller.conftest import balance_of
from tests.reseller.rentals.test_lifecycle import back_in_time, rent, renting  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_rentals_list_filters_and_detail(admin_client, renting, customer_with_key):  # noqa: F811
    customer, _ = customer_with_key(balance="50000.00")
    rental = rent(customer)
    back_in_time(rental, 130)
    rentals_sync(provider_id=renting.pk)
    rental_renew(rental=rental, hours=24, request_key="k", wallet_id=wallet_of(customer).pk)
    url = reverse("admin:reseller_rental_changelist")
    assert rental.phone.encode() in admin_client.get(url).content
    assert rental.phone.encode() in admin_client.get(url + "?state__exact=active").content
    assert rental.phone.encode() not in admin_client.get(url + "?state__exact=expired").content
    detail = admin_client.get(reverse("admin:reseller_rental_change", args=[rental.pk])).content.decode()
    assert rental.messages.first().text in detail and "done" in detail  # its SMS and its renewal


def test_an_admin_ends_rentals_with_a_reason(admin_client, renting, customer_with_key):  # noqa: F811
    customer, _ = customer_with_key(balance="50000.00")
    fresh, old = rent(customer), rent(customer)
    back_in_time(old, 30 * 60)  # past the refund window
    paid_old = balance_of(customer) + fresh.price
    response = admin_client.post(
        reverse("admin:reseller_rental_changelist"),
        {"action": "end_rentals", "_selected_action": [fresh.pk, old.pk], "apply": "1", "reason": "abuse report"},
    )
    assert response.status_code == 302
    fresh.refresh_from_db()
    old.refresh_from_db()
    assert fresh.state == "cancelled" and old.state == "finished"
    assert fresh.end_reason == old.end_reason == "ended by admin admin: abuse report"
    assert balance_of(customer) == paid_old  # only the one inside the window is refunded
    assert LogEntry.objects.filter(object_id=str(old.pk), change_message__contains="abuse report").exists()
    assert Rental.objects.filter(state="active").count() == 0
    assert Decimal(0) < fresh.price
