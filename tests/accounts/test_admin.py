import uuid

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Customer
from billing.models import LedgerAccount, Transfer
from billing.selectors import wallet_of
from billing.services import hold_capture, wallet_hold
from reseller.protocol.auth import authenticate
from reseller.protocol.errors import BadKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = Customer.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_changelists_and_change_pages_render(admin_client, customer_with_key):
    customer, _ = customer_with_key(balance="100")
    wallet = wallet_of(customer)
    hold_capture(hold=wallet_hold(wallet=wallet, amount="10", key="h").hold)
    transfer = Transfer.objects.first()
    for url in (
        reverse("admin:accounts_customer_changelist"),
        reverse("admin:accounts_customer_change", args=[customer.pk]),
        reverse("admin:accounts_customer_add"),
        reverse("admin:accounts_auditevent_changelist"),
        reverse("admin:billing_ledgeraccount_changelist"),
        reverse("admin:billing_ledgeraccount_change", args=[wallet.pk]),
        reverse("admin:billing_transfer_changelist"),
        reverse("admin:billing_transfer_change", args=[transfer.pk]),
        reverse("admin:billing_hold_changelist"),
    ):
        assert admin_client.get(url).status_code == 200, url


def test_transfers_of_one_customer(admin_client, customer_with_key):
    alice, _ = customer_with_key(balance="100", username="alice")
    customer_with_key(balance="77", username="bob")
    page = admin_client.get(reverse("admin:billing_transfer_changelist") + f"?customer={alice.pk}")
    assert page.status_code == 200
    assert b"wallet of alice" in page.content and b"wallet of bob" not in page.content


def test_block_action_asks_for_reason_then_blocks_and_audits(admin_client, customer_with_key):
    customer, _ = customer_with_key()
    url = reverse("admin:accounts_customer_changelist")
    form = admin_client.post(url, {"action": "block_customers", "_selected_action": [customer.pk]})
    assert form.status_code == 200 and b"reason" in form.content
    customer.refresh_from_db()
    assert not customer.is_blocked
    admin_client.post(
        url, {"action": "block_customers", "_selected_action": [customer.pk], "apply": "1", "reason": "fraud"}
    )
    customer.refresh_from_db()
    assert customer.is_blocked and customer.blocked_reason == "fraud"
    event = AuditEvent.objects.get(customer=customer, action="blocked")
    assert event.actor.username == "root"
    form = admin_client.post(url, {"action": "unblock_customers", "_selected_action": [customer.pk]})
    assert form.status_code == 200 and b"reason" in form.content
    customer.refresh_from_db()
    assert customer.is_blocked  # not before a reason is given
    admin_client.post(
        url, {"action": "unblock_customers", "_selected_action": [customer.pk], "apply": "1", "reason": "paid up"}
    )
    customer.refresh_from_db()
    assert not customer.is_blocked
    event = AuditEvent.objects.get(customer=customer, action="unblocked")
    assert (event.reason, event.actor.username) == ("paid up", "root")


def test_rotate_action_shows_new_key_once(admin_client, customer_with_key):
    customer, old = customer_with_key()
    response = admin_client.post(
        reverse("admin:accounts_customer_changelist"),
        {"action": "rotate_keys", "_selected_action": [customer.pk]},
        follow=True,
    )
    [message] = [str(m) for m in response.context["messages"] if "new API key" in str(m)]
    new = message.rsplit(" ", 1)[-1]
    assert authenticate(new).customer_id == customer.pk
    with pytest.raises(BadKey):
        authenticate(old)
    assert AuditEvent.objects.filter(customer=customer, action="key_rotated", actor__username="root").exists()


def test_admin_added_customer_gets_wallet_and_key(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_customer_add"),
        {
            "username": "newbie",
            "password1": "S3cure-pass-123",
            "password2": "S3cure-pass-123",
            "usable_password": "true",
        },
        follow=True,
    )
    assert response.status_code == 200
    customer = Customer.objects.get(username="newbie")
    assert customer.api_key_digest and LedgerAccount.objects.filter(customer=customer).exists()
    assert any("API key of newbie" in str(m) for m in response.context["messages"])


def test_credit_wallet_action(admin_client, customer_with_key):
    customer, _ = customer_with_key(balance="10")
    wallet = wallet_of(customer)
    url = reverse("admin:billing_ledgeraccount_changelist")
    data = {"action": "credit_wallet", "_selected_action": [wallet.pk], "apply": "1"}
    admin_client.post(url, {**data, "kind": "topup", "amount": "90", "reason": "bank ref 1", "key": uuid.uuid4().hex})
    admin_client.post(url, {**data, "kind": "adjustment", "amount": "-5.50", "reason": "fee", "key": uuid.uuid4().hex})
    admin_client.post(url, {**data, "kind": "adjustment", "amount": "1.001", "reason": "bad", "key": uuid.uuid4().hex})
    wallet.refresh_from_db()
    assert wallet.balance == pytest.approx(94.5)
    assert Transfer.objects.filter(actor__username="root").count() == 2
