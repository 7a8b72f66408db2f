"""E-mails for an admin: the orders list with its filters, an order's letters and money, the
servers, offers and services pages; `email_server_set` as an operator runs it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from reseller.emails.lifecycle import email_cancel
from reseller.models import EmailServer
from tests.reseller.emails import support
from tests.reseller.emails.support import buy, deliver
from upstream.models import Provider

pytestmark = pytest.mark.django_db
mail_servers = support.mail_servers


def test_orders_list_filters_and_detail(admin_client, mail_servers, customer_with_key):
    customer, _ = customer_with_key(balance="5000.00")
    received, cancelled = buy(customer), buy(customer, server=2, service=None, domain="mail.com")
    deliver(received)
    email_cancel(order=cancelled)
    url = reverse("admin:reseller_emailorder_changelist")
    page = admin_client.get(url).content
    assert received.email.encode() in page and cancelled.email.encode() in page
    only_received = admin_client.get(url + "?state__exact=received").content
    assert received.email.encode() in only_received and cancelled.email.encode() not in only_received
    assert cancelled.email.encode() in admin_client.get(url + "?server=2").content
    assert received.email.encode() not in admin_client.get(url + "?domain=mail.com").content
    assert received.email.encode() in admin_client.get(url + f"?customer__id__exact={customer.pk}").content
    detail = admin_client.get(reverse("admin:reseller_emailorder_change", args=[received.pk])).content.decode()
    letter = received.letters.get()
    assert letter.code in detail and letter.sender in detail  # its letter
    assert "capture" in detail and "upstream_cost" in detail  # its money
    detail = admin_client.get(reverse("admin:reseller_emailorder_change", args=[cancelled.pk])).content.decode()
    assert "hold" in detail and "no transfers" in detail  # a released hold moves no money
    for name in ("reseller_emailserver", "upstream_emailoffer", "upstream_emailservice"):
        assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def run(*args: str) -> str:
    out = StringIO()
    call_command("email_server_set", *args, stdout=out)
    return out.getvalue().strip()


def test_email_server_set(mail_servers):
    assert run("--server", "1", "--slot", "2") == "updated e-mail server 1: provider slot 2 (two), enabled"
    assert EmailServer.objects.get(server=1).provider.slot == 2
    assert (
        run("--server", "2", "--slot", "1", "--disabled", "--lifetime", "600")
        == "updated e-mail server 2: provider slot 1 (one), disabled, letters awaited 600 s"
    )
    row = EmailServer.objects.get(server=2)
    assert not row.enabled and row.lifetime_seconds == 600
    EmailServer.objects.all().delete()
    assert run("--server", "1", "--slot", "1") == "set e-mail server 1: provider slot 1 (one), enabled"
    Provider.objects.create(slot=3, protocol="smsactivate", base_url="http://127.0.0.1:9/x", api_key="k")
    for args, message in [
        (("--server", "3", "--slot", "1"), "--server: 1 or 2"),
        (("--server", "1", "--slot", "7"), "--slot: a provider slot 1-6"),
        (("--server", "1", "--slot", "5"), "no provider in that slot"),
        (("--server", "1", "--slot", "3"), "sells no e-mails"),
        (("--server", "1", "--slot", "1", "--lifetime", "0"), "--lifetime"),
    ]:
        with pytest.raises(CommandError, match=message):
            run(*args)
