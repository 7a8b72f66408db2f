"""Rentals under concurrency, real threads on PostgreSQL: the wallet never pays for more rentals
than it covers, one request key renews once, and a rental ends once."""

import random
import time
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Transfer
from billing.selectors import wallet_of
from billing.verify import ledger_verify
from reseller.models import Rental, RentalRenewal
from reseller.rentals.lifecycle import rental_cancel, rental_renew, rentals_expire_due, rentals_sync
from tests.billing.test_races import run_concurrently
from tests.reseller.conftest import balance_of
from tests.reseller.rentals.test_lifecycle import back_in_time, rent, renting  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def _fresh(pk: int) -> Rental:
    return Rental.objects.select_related("provider", "service", "country").get(pk=pk)


def test_50_concurrent_rentals_on_a_balance_for_7(renting, customer_with_key):  # noqa: F811
    customer, _ = customer_with_key(balance="100000.00")
    price = rent(customer).price  # one rental to learn the price, then a wallet for exactly 7 more
    poor, _ = customer_with_key(balance=str(price * 7))

    def work(_):
        try:
            return rent(poor).state
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__
        finally:
            connection.close()

    results = run_concurrently(50, work)
    assert results.count("active") == 7, results
    assert results.count("InsufficientFunds") == 43, results
    assert balance_of(poor) == Decimal("0.00")
    assert Rental.objects.filter(customer=poor, state="active").count() == 7
    report = ledger_verify()
    assert report.ok, report.render()


def test_10_concurrent_renewals_with_one_key_charge_once(renting, customer_with_key):  # noqa: F811
    customer, _ = customer_with_key(balance="100000.00")
    rental = rent(customer)
    before = balance_of(customer)
    wallet = wallet_of(customer).pk

    def work(_):
        try:
            return rental_renew(rental=_fresh(rental.pk), hours=24, request_key="same", wallet_id=wallet).pk
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__
        finally:
            connection.close()

    results = run_concurrently(10, work)
    renewal = RentalRenewal.objects.get()
    assert results == [renewal.pk] * 10, results
    assert renewal.state == "done" and balance_of(customer) == before - renewal.price
    assert Transfer.objects.filter(order_kind="renewal", kind="capture").count() == 1
    report = ledger_verify()
    assert report.ok, report.render()


@pytest.mark.parametrize("round_", range(3))
def test_cancel_expiry_and_an_sms_end_a_rental_once(renting, customer_with_key, round_):  # noqa: F811
    customer, _ = customer_with_key(balance="100000.00")
    rental = rent(customer)
    back_in_time(rental, 70)  # an SMS is due at the sandbox: the sync may store it first
    Rental.objects.filter(pk=rental.pk).update(expires_at=rental.activated_at)  # and the period is over
    rng = random.Random(round_)

    def work(i):
        time.sleep(rng.random() * 0.05)
        try:
            if i < 4:
                return ("cancel", rental_cancel(rental=_fresh(rental.pk)).state)
            if i < 6:
                return ("expire", rentals_expire_due())
            return ("sync", rentals_sync(provider_id=renting.pk))
        except Exception as exc:  # noqa: BLE001
            return ("error", type(exc).__name__)
        finally:
            connection.close()

    results = run_concurrently(8, work)
    rental.refresh_from_db()
    assert rental.state in ("cancelled", "expired"), (rental.state, results)
    refunds = Transfer.objects.filter(order_kind="rental", order_pk=rental.pk, kind="refund").count()
    if rental.state == "cancelled":
        assert refunds == 1 and balance_of(customer) == Decimal("100000.00")
    else:
        assert refunds == 0
    assert len([r for r in results if r[0] == "cancel" and r[1] == "cancelled"]) <= 1
    assert sum(r[1] for r in results if r[0] == "expire") <= 1
    report = ledger_verify()
    assert report.ok, report.render()


def test_50_concurrent_rent_number_requests_over_http_on_a_balance_for_7(customer_with_key):
    """The same race through rental-handler.php's rentNumber, a test client per thread."""
    import json

    from django.test import Client

    from reseller.rentals.servers import rental_server_set
    from upstream.models import Provider
    from upstream.services import catalogue_sync

    provider = Provider.objects.create(slot=1, protocol="sandbox", name="sandbox")
    catalogue_sync(provider=provider)
    rental_server_set(server=1, provider=provider)
    params = {"action": "rentNumber", "country_code": "in", "provider": "1", "duration_hours": "24"}
    rich, rich_key = customer_with_key(balance="100000.00")
    first = json.loads(Client().get("/stubs/rental-handler.php", {"api_key": rich_key, **params}).content)
    price = Decimal(first["price_paid"])
    poor, key = customer_with_key(balance=str(price * 7))

    def work(_):
        try:
            return json.loads(Client().get("/stubs/rental-handler.php", {"api_key": key, **params}).content)["status"]
        finally:
            connection.close()

    results = run_concurrently(50, work)
    assert results.count("200") == 7 and results.count("402") == 43, results
    assert balance_of(poor) == Decimal("0.00")
    assert Rental.objects.filter(customer=poor, state="active").count() == 7
    report = ledger_verify()
    assert report.ok, report.render()
