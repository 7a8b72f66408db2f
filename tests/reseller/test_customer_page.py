"""The customer page (reseller/customer_admin.py): money, every order of every kind, the ledger,
top-up and correction from the page; staff apart from customers."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Customer
from billing.models import LedgerAccount, Transfer
from billing.selectors import wallet_of
from reseller.models import Activation, EmailOrder, Rental
from reseller.protocol.auth import authenticate
from reseller.protocol.errors import BadKey
from reseller.rentals.lifecycle import rental_renew
from tests.reseller.emails.support import buy as buy_email
from tests.reseller.emails.support import mail_servers  # noqa: F401 - the fixture
from tests.reseller.rentals.test_lifecycle import rent
from tests.reseller.test_flows import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):
    user = Customer.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return user


def page_of(client, customer) -> str:
    response = client.get(reverse("admin:accounts_customer_change", args=[customer.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_money_every_order_and_the_ledger(
    client,
    root,
    mail_servers,  # noqa: F811 - the fixture
    api,
    customer_with_key,
    django_assert_max_num_queries,  # noqa: F811
):
    customer, key = customer_with_key(balance="50000.00", username="alice")
    other, other_key = customer_with_key(balance="1000.00", username="bob")
    activation = buy(api, key)  # active: its hold is open
    rental = rent(customer)
    renewal = rental_renew(rental=rental, hours=24, request_key="r1", wallet_id=wallet_of(customer).pk)
    email = buy_email(customer)
    bobs = buy(api, other_key)
    wallet = wallet_of(customer)
    assert wallet.held > 0

    with django_assert_max_num_queries(20):
        body = page_of(client, customer)

    assert f"available {wallet.available:.2f} PKR" in body
    assert f"balance {wallet.balance:.2f} PKR" in body and f"held {wallet.held:.2f} PKR" in body
    open_holds = wallet.holds.filter(status="open")
    assert f"{open_holds.count()} open hold(s)" in body
    for viewname, pk in (
        ("admin:reseller_activation_change", activation.pk),
        ("admin:reseller_rental_change", rental.pk),
        ("admin:reseller_emailorder_change", email.pk),
    ):
        assert reverse(viewname, args=[pk]) in body
    assert f"rental #{rental.pk}" in body and f"#{renewal.pk}" in body
    assert reverse("admin:reseller_activation_change", args=[bobs.pk]) not in body  # only hers
    assert "Cheap numbers (latest 10)" in body
    # the ledger: her transfers (the top-up, the rental's capture), not bob's
    mine = Transfer.objects.filter(destination=wallet).first()
    assert reverse("admin:billing_transfer_change", args=[mine.pk]) in body
    bobs_topup = Transfer.objects.filter(destination=wallet_of(other)).first()
    assert reverse("admin:billing_transfer_change", args=[bobs_topup.pk]) not in body

    # every "all of them" link is a filtered list that opens and shows hers only
    for url, mine_text, not_mine in (
        (
            f"{reverse('admin:reseller_activation_changelist')}?customer__id__exact={customer.pk}&kind__exact=activation",
            activation.phone,
            bobs.phone,
        ),
        (f"{reverse('admin:reseller_rental_changelist')}?customer__id__exact={customer.pk}", rental.phone, None),
        (f"{reverse('admin:reseller_emailorder_changelist')}?customer__id__exact={customer.pk}", email.email, None),
        (f"{reverse('admin:billing_transfer_changelist')}?customer={customer.pk}", "wallet of alice", "wallet of bob"),
        (
            f"{reverse('admin:billing_hold_changelist')}?account__id__exact={wallet.pk}&status__exact=open",
            "wallet of alice",
            "wallet of bob",
        ),
    ):
        assert url.replace("&", "&amp;") in body or url in body, url
        listing = client.get(url)
        assert listing.status_code == 200, url
        assert mine_text in listing.content.decode(), url
        if not_mine:
            assert not_mine not in listing.content.decode(), url


def test_the_page_stays_cheap_with_many_orders(client, root, customer_with_key, django_assert_max_num_queries):
    from upstream.services import catalogue_sync, provider_add

    provider = provider_add(slot=1, protocol="sandbox", url="", api_key="", name="s", config={})
    catalogue_sync(provider=provider)
    customer, _ = customer_with_key(balance="100.00")
    Activation.objects.bulk_create(
        Activation(
            customer=customer,
            provider=provider,
            service_id=provider.offers.first().service_id,
            country_id=22,
            price=Decimal("1.00"),
            state="finished",
        )
        for _ in range(60)
    )
    with django_assert_max_num_queries(20):
        body = page_of(client, customer)
    assert body.count("/admin/reseller/activation/") >= 10 and Activation.objects.count() == 60


def post_money(client, customer, **data):
    url = reverse("admin:accounts_customer_money", args=[customer.pk])
    form = client.get(url)
    assert form.status_code == 200
    key = form.context["form"]["key"].value()
    return client.post(url, {"key": key, **data}), key


def test_top_up_and_correct_from_the_page(client, root, customer_with_key):
    customer, _ = customer_with_key(balance="10.00")
    assert "Top up / correct" in page_of(client, customer)
    response, key = post_money(client, customer, kind="topup", amount="90", reason="bank ref 7")
    assert response.status_code == 302
    topup = Transfer.objects.get(kind="topup", memo="bank ref 7")
    assert topup.actor == root and topup.amount == Decimal("90.00")
    # the same form sent twice books once
    url = reverse("admin:accounts_customer_money", args=[customer.pk])
    client.post(url, {"key": key, "kind": "topup", "amount": "90", "reason": "bank ref 7"})
    assert Transfer.objects.filter(kind="topup", memo="bank ref 7").count() == 1
    # a correction needs a reason
    response, _ = post_money(client, customer, kind="adjustment", amount="-5.50", reason=" ")
    assert response.status_code == 200 and "a correction needs a reason" in response.content.decode()
    post_money(client, customer, kind="adjustment", amount="-5.50", reason="fee")
    post_money(client, customer, kind="adjustment", amount="1.001", reason="bad amount")  # refused, nothing booked
    post_money(client, customer, kind="topup", amount="-3", reason="")  # a top-up is positive
    wallet = wallet_of(customer)
    assert wallet.balance == Decimal("94.50")
    assert Transfer.objects.filter(kind="adjustment", memo="fee", actor=root).count() == 1
    assert "fee" in page_of(client, customer)


def test_a_viewer_without_the_money_permission_cannot_book(client, customer_with_key):
    customer, _ = customer_with_key(balance="10.00")
    viewer = Customer.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "view_ledgeraccount"]))
    client.force_login(viewer)
    assert "Top up / correct" not in page_of(client, customer)
    url = reverse("admin:accounts_customer_money", args=[customer.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"key": "k", "kind": "topup", "amount": "5", "reason": ""}).status_code == 403
    assert wallet_of(customer).balance == Decimal("10.00")


def test_staff_have_no_wallet_no_key_and_are_listed_apart(client, root, customer_with_key):
    assert not LedgerAccount.objects.filter(customer=root).exists()
    customer, key = customer_with_key(balance="5.00", username="carol")
    customers = client.get(reverse("admin:accounts_customer_changelist")).content.decode()
    staff = client.get(reverse("admin:accounts_staffuser_changelist")).content.decode()
    root_row = f"/{root.pk}/change/"
    assert "carol" in customers and root_row not in customers
    assert root_row in staff and "carol" not in staff
    assert client.get(reverse("admin:accounts_customer_change", args=[root.pk])).status_code == 302  # not here
    assert client.get(reverse("admin:accounts_staffuser_change", args=[root.pk])).status_code == 200

    # a customer made staff keeps its wallet (and its money), but its key stops working
    assert authenticate(key).customer_id == customer.pk
    customer.is_staff = True
    customer.save()
    with pytest.raises(BadKey):
        authenticate(key)
    assert wallet_of(customer).balance == Decimal("5.00")

    # staff made a customer again gets a wallet on that save; a staff user created here gets none
    clerk = Customer.objects.create_user("clerk", "c@example.com", "pw", is_staff=True)
    assert not LedgerAccount.objects.filter(customer=clerk).exists()
    clerk.is_staff = False
    clerk.save(update_fields=["is_staff"])
    assert LedgerAccount.objects.filter(customer=clerk, kind="wallet").exists()


def test_staff_get_no_key_from_the_rotate_action(client, root):
    from accounts.errors import StaffAccount
    from accounts.services import customer_rotate_key

    with pytest.raises(StaffAccount):
        customer_rotate_key(customer=root)
    assert Customer.objects.get(pk=root.pk).api_key_digest is None


def test_an_empty_customer_page_names_every_kind(client, root, customer_with_key):
    customer, _ = customer_with_key()
    body = page_of(client, customer)
    for title in ("Activations", "Cheap numbers", "Rentals", "Rental renewals", "E-mails"):
        assert f"{title} (latest 10)" in body
    assert Rental.objects.count() == EmailOrder.objects.count() == 0


def test_a_staff_user_added_in_its_admin_is_staff_without_wallet_or_key(client, root):
    response = client.post(
        reverse("admin:accounts_staffuser_add"),
        {
            "username": "clerk",
            "password1": "S3cure-pass-123",
            "password2": "S3cure-pass-123",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    clerk = Customer.objects.get(username="clerk")
    assert clerk.is_staff and clerk.api_key_digest is None
    assert not LedgerAccount.objects.filter(customer=clerk).exists()
    # made a customer again through the staff page: it gets its wallet on that save
    from accounts.models import StaffUser

    demoted = StaffUser.objects.get(pk=clerk.pk)
    demoted.is_staff = False
    demoted.save()
    assert LedgerAccount.objects.filter(customer=clerk, kind="wallet").exists()
