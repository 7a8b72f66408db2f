"""Commands that change customers or money record who ran them: `cli:<OS user>@<host>`, and with
`--actor <staff username>` that staff user too. The admin lists show it instead of `-`."""

import getpass
import socket
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import AuditEvent, Customer
from billing.models import Transfer

pytestmark = pytest.mark.django_db

LABEL = f"cli:{getpass.getuser()}@{socket.gethostname()}"


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_commands_record_the_os_user_and_host():
    run("customer_create", "gina", "--balance", "20")
    run("wallet_credit", "gina", "5", "--note", "cash at desk")
    run("customer_block", "gina", "--reason", "chargeback")
    run("customer_unblock", "gina", "--reason", "resolved")
    run("customer_rotate_key", "gina")
    events = AuditEvent.objects.filter(customer__username="gina")
    assert {e.action for e in events} == {"created", "blocked", "unblocked", "key_rotated"}
    assert {(e.actor_id, e.actor_label) for e in events} == {(None, LABEL)}
    transfers = Transfer.objects.filter(destination__customer__username="gina")
    assert {t.memo for t in transfers} == {"opening balance", "cash at desk"}
    assert {(t.actor_id, t.actor_label) for t in transfers} == {(None, LABEL)}


def test_actor_option_names_a_staff_user():
    boss = Customer.objects.create_user("boss", "b@example.com", "pw", is_staff=True)
    run("customer_create", "hank")
    run("customer_block", "hank", "--reason", "fraud", "--actor", "boss")
    run("wallet_credit", "hank", "7.25", "--actor", "boss")
    event = AuditEvent.objects.get(customer__username="hank", action="blocked")
    assert (event.actor, event.actor_label) == (boss, LABEL)
    assert event.actor_display == f"boss ({LABEL})"
    topup = Transfer.objects.get(amount=Decimal("7.25"))
    assert (topup.actor, topup.actor_label) == (boss, LABEL)


def test_actor_must_be_an_active_staff_user():
    run("customer_create", "ivy")
    Customer.objects.create_user("plain", "p@example.com", "pw")
    for name in ("plain", "nobody"):
        with pytest.raises(CommandError, match="not an active staff user"):
            run("customer_block", "ivy", "--reason", "x", "--actor", name)
    assert not Customer.objects.get(username="ivy").is_blocked


def test_staff_get_no_key_and_no_wallet_by_command():
    Customer.objects.create_superuser("root", "root@example.com", "pw")
    with pytest.raises(CommandError, match="staff users have no API key"):
        run("customer_rotate_key", "root")
    with pytest.raises(CommandError, match="staff users have no wallet"):
        run("wallet_credit", "root", "5")
    assert not Transfer.objects.exists()


def test_admin_lists_show_the_command_line_actor(admin_client):
    run("customer_create", "jack", "--balance", "3")
    run("customer_block", "jack", "--reason", "spam")
    for url in (reverse("admin:accounts_auditevent_changelist"), reverse("admin:billing_transfer_changelist")):
        assert LABEL in admin_client.get(url).content.decode(), url
    jack = Customer.objects.get(username="jack")
    assert LABEL in admin_client.get(reverse("admin:accounts_customer_change", args=[jack.pk])).content.decode()
