"""An e-mail order's money through its life, on the sandbox: held at purchase, charged once at
its letter, refunded in full by a cancel or an expiry without one, a late letter our loss."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Hold, Transfer
from reseller.emails.errors import EmailNoStock, EmailServerUnavailable, EmailServiceUnavailable
from reseller.emails.lifecycle import (
    email_cancel,
    email_forward_cancel,
    emails_expire_due,
    emails_reconcile,
    emails_sync,
)
from reseller.models import EmailLetter, EmailOrder, EmailServer
from reseller.orders.errors import InsufficientFunds, OrderAlreadyEnded, ProviderFailed
from tests.reseller.conftest import account, balance_of
from tests.reseller.emails import support
from tests.reseller.emails.support import buy, deliver, expire, letter_due
from upstream.models import EmailOffer, Provider, SandboxEmail

pytestmark = pytest.mark.django_db
mail_servers = support.mail_servers


def transfers(order, kind):
    return Transfer.objects.filter(order_kind="email", order_pk=order.pk, kind=kind)


def test_buy_holds_the_letter_charges_once(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    assert order.state == "active" and order.email.endswith("@gmail.com") and order.upstream_id
    assert order.expires_at is not None and order.lifetime_seconds == 1200
    assert Hold.objects.get(pk=order.hold_id).status == "open"
    assert balance_of(customer) == Decimal("1000.00") - order.price
    deliver(order)
    assert order.state == "received"
    letter = EmailLetter.objects.get(order=order)
    assert len(letter.code) == 6 and letter.code in letter.text and letter.sender
    assert Hold.objects.get(pk=order.hold_id).status == "captured"
    assert transfers(order, "capture").count() == 1 and transfers(order, "upstream_cost").count() == 1
    emails_sync(provider_id=order.provider_id)  # again: nothing more
    deliver(order)
    assert transfers(order, "capture").count() == 1 and EmailLetter.objects.filter(order=order).count() == 1
    assert balance_of(customer) == Decimal("1000.00") - order.price


def test_the_markup_for_emails_prices_it(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    assert order.price == (order.cost_pkr * Decimal("1.2")).quantize(Decimal("0.01"))


def test_cancel_while_waiting_refunds_in_full(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer, server=2, service=None, domain="mail.com", site="telegram.org")
    email_cancel(order=order)
    assert order.state == "cancelled"
    assert Hold.objects.get(pk=order.hold_id).status == "released"
    assert balance_of(customer) == Decimal("1000.00")
    assert SandboxEmail.objects.get(pk=int(order.upstream_id)).status == "cancelled"
    with pytest.raises(OrderAlreadyEnded):
        email_cancel(order=order)


def test_cancel_after_a_letter_returns_it_and_stays_charged(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    deliver(order)
    assert email_cancel(order=order).state == "received"
    assert balance_of(customer) == Decimal("1000.00") - order.price


def test_cancel_racing_a_letter_the_letter_wins(mail_servers, customer_with_key):
    """The letter came upstream since the last sync: the upstream's cancel returns it instead."""
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    letter_due(order)
    assert email_cancel(order=order).state == "received"
    assert transfers(order, "capture").count() == 1
    assert balance_of(customer) == Decimal("1000.00") - order.price


def test_cancel_when_the_upstream_fails_changes_nothing(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    Provider.objects.filter(pk=order.provider_id).update(
        config={**support.NO_LETTER, "fail": "unavailable", "fail_actions": ["email_cancel"]}
    )
    order.provider.refresh_from_db()
    with pytest.raises(ProviderFailed):
        email_cancel(order=order)
    order.refresh_from_db()
    assert order.state == "active" and Hold.objects.get(pk=order.hold_id).status == "open"


def test_expiry_without_a_letter_refunds_and_tells_the_upstream(
    mail_servers, customer_with_key, django_capture_on_commit_callbacks
):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    expire(order)
    with django_capture_on_commit_callbacks(execute=True):
        assert emails_expire_due() == 1
    order.refresh_from_db()
    assert order.state == "expired" and order.upstream_pending == ""
    assert balance_of(customer) == Decimal("1000.00")
    assert SandboxEmail.objects.get(pk=int(order.upstream_id)).status == "cancelled"
    assert emails_expire_due() == 0


def test_a_letter_after_expiry_is_our_loss_never_the_customers(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    expire(order)
    emails_expire_due()  # the cancel task is not run yet: the letter comes first
    letter_due(order)
    losses = account("losses")
    assert email_forward_cancel(order_id=order.pk).startswith("a letter came after the customer's refund")
    order.refresh_from_db()
    assert order.state == "expired" and order.upstream_pending == ""
    assert balance_of(customer) == Decimal("1000.00")
    assert account("losses") == losses + order.cost_pkr
    assert transfers(order, "loss").count() == 1 and EmailLetter.objects.filter(order=order).count() == 1
    assert email_forward_cancel(order_id=order.pk) == "nothing to forward"


def test_an_order_ended_upstream_is_refunded_by_the_sync(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    SandboxEmail.objects.filter(pk=int(order.upstream_id)).update(expires_at=timezone.now() - timedelta(seconds=1))
    emails_sync(provider_id=order.provider_id)
    order.refresh_from_db()
    assert order.state == "expired" and balance_of(customer) == Decimal("1000.00")


def test_a_shorter_server_lifetime_wins(mail_servers, customer_with_key):
    EmailServer.objects.filter(server=1).update(lifetime_seconds=300)
    customer, _ = customer_with_key(balance="1000.00")
    order = buy(customer)
    assert order.lifetime_seconds == 300
    assert 295 <= (order.expires_at - order.activated_at).total_seconds() <= 300


def test_what_cannot_be_sold_charges_nothing(mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="1000.00")
    with pytest.raises(EmailServiceUnavailable):
        buy(customer, domain="nosuch.example")
    empty = EmailOffer.objects.filter(provider__slot=1, stock=0).first()
    assert empty is not None, "the sandbox lists a domain out of stock"
    with pytest.raises(EmailNoStock):
        buy(customer, domain=empty.domain)
    EmailServer.objects.filter(server=2).update(enabled=False)
    with pytest.raises(EmailServerUnavailable):
        buy(customer, server=2, service=None, domain="mail.com")
    poor, _ = customer_with_key(balance="0.01")
    with pytest.raises(InsufficientFunds):
        buy(poor)
    assert balance_of(customer) == Decimal("1000.00") and not EmailOrder.objects.exclude(state="failed").exists()


def _unknown_purchase(customer_with_key):
    """A purchase whose answer was lost (the sandbox sold the mailbox, then timed out)."""
    customer, _ = customer_with_key(balance="1000.00")
    Provider.objects.filter(slot=1).update(
        config={**support.NO_LETTER, "fail": "timeout", "fail_actions": ["email_buy"]}
    )
    with pytest.raises(ProviderFailed):
        buy(customer)
    return customer, EmailOrder.objects.get()


def test_an_upstream_timeout_is_an_unknown_outcome_reconciled(mail_servers, customer_with_key):
    customer, order = _unknown_purchase(customer_with_key)
    assert order.state == "unknown" and order.upstream_pending == "reconcile"
    assert balance_of(customer) == Decimal("1000.00")
    assert emails_reconcile() == 0  # too early to tell
    EmailOrder.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=2))
    losses = account("losses")
    assert emails_reconcile() == 1
    assert account("losses") == losses + order.cost_pkr
    assert emails_reconcile() == 0


def test_the_upstreams_lifetime_is_the_orders(mail_servers, customer_with_key):
    Provider.objects.filter(slot=1).update(config={**support.NO_LETTER, "email_lifetime_seconds": 600})
    customer, _ = customer_with_key(balance="1000.00")
    assert buy(customer).lifetime_seconds == 600


@pytest.mark.parametrize("letter", [False, True])
def test_an_unknown_purchase_learnt_late_is_given_back(mail_servers, customer_with_key, letter):
    """The late answer's mailbox (recorded on the unknown order) is cancelled upstream; a letter it
    got first is our loss, never the customer's."""
    customer, order = _unknown_purchase(customer_with_key)
    mailbox = SandboxEmail.objects.get()  # the upstream sold it; its answer was lost
    EmailOrder.objects.filter(pk=order.pk).update(upstream_id=str(mailbox.pk))
    if letter:
        SandboxEmail.objects.filter(pk=mailbox.pk).update(letter_due_at=timezone.now() - timedelta(seconds=1))
    losses = account("losses")
    assert emails_reconcile() == 1
    order.refresh_from_db()
    assert order.upstream_pending == "" and order.failure.startswith("unknown outcome; the mailbox learnt late")
    assert balance_of(customer) == Decimal("1000.00")
    if letter:
        assert account("losses") == losses + order.cost_pkr and EmailLetter.objects.filter(order=order).count() == 1
    else:
        assert account("losses") == losses and SandboxEmail.objects.get().status == "cancelled"
