"""E-mail orders under concurrency, real threads on PostgreSQL: a wallet never pays for more
mailboxes than it covers (through email_handler.php's buyEmail over HTTP), and of a cancel, a
letter and the expiry sweeper exactly one ends an order, its money moved once."""

import json
import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from billing.models import Transfer
from billing.verify import ledger_verify
from reseller.emails.lifecycle import email_cancel, emails_expire_due, emails_sync
from reseller.models import EmailOrder
from tests.billing.test_races import run_concurrently
from tests.reseller.conftest import balance_of
from tests.reseller.emails import support
from tests.reseller.emails.support import buy, expire, letter_due

pytestmark = pytest.mark.django_db(transaction=True)
mail_servers = support.mail_servers


def test_50_concurrent_buy_email_on_a_balance_for_7(mail_servers, customer_with_key):
    rich, _ = customer_with_key(balance="100000.00")
    price = buy(rich).price  # one order to learn the price, then a wallet for exactly 7 more
    poor, key = customer_with_key(balance=str(price * 7))
    lock = threading.Lock()

    def work(_):
        try:
            client = Client()
            response = client.get(
                support.PATH,
                {"api_key": key, "action": "buyEmail", "server": "1", "service_id": "ig", "domain": "gmail.com"},
            )
            assert response.status_code == 200
            with lock:
                return json.loads(response.content)["status"]
        finally:
            connection.close()

    results = run_concurrently(50, work)
    assert results.count("200") == 7, results
    assert results.count("402") == 43, results
    assert balance_of(poor) == Decimal("0.00")
    assert EmailOrder.objects.filter(customer=poor, state="active").count() == 7
    report = ledger_verify()
    assert report.ok, report.render()


def _fresh(pk: int) -> EmailOrder:
    return EmailOrder.objects.select_related("provider", "service").get(pk=pk)


@pytest.mark.parametrize("round_", range(3))
def test_cancel_a_letter_and_expiry_end_an_order_once(mail_servers, customer_with_key, round_):
    customer, _ = customer_with_key(balance="100000.00")
    order = buy(customer)
    letter_due(order)  # the letter is there upstream: the sync may store it first
    expire(order)  # and our side of its lifetime is over
    rng = random.Random(round_)

    def work(i):
        time.sleep(rng.random() / 50)
        try:
            if i % 3 == 0:
                return email_cancel(order=_fresh(order.pk)).state
            if i % 3 == 1:
                return emails_sync(provider_id=order.provider_id)
            return emails_expire_due()
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__
        finally:
            connection.close()

    run_concurrently(9, work)
    order.refresh_from_db()
    assert order.state in ("received", "expired", "cancelled")
    captured = Transfer.objects.filter(order_kind="email", order_pk=order.pk, kind="capture").count()
    if order.state == "received":
        assert captured == 1 and balance_of(customer) == Decimal("100000.00") - order.price
    else:
        assert captured == 0 and balance_of(customer) == Decimal("100000.00")
    report = ledger_verify()
    assert report.ok, report.render()
