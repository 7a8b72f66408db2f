from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.keys import is_well_formed
from accounts.models import AuditEvent, Customer
from billing.models import Transfer

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def balance(key: str) -> bytes:
    return Client().get("/stubs/handler_api.php", {"api_key": key, "action": "getBalance"}).content


def test_customer_create_prints_key_alone_on_last_line():
    lines = run("customer_create", "alice", "--balance", "500")
    key = lines[-1]
    assert is_well_formed(key)
    assert balance(key) == b"ACCESS_BALANCE:500.00"
    customer = Customer.objects.get(username="alice")
    assert customer.api_key_digest and key not in customer.api_key_digest
    assert AuditEvent.objects.filter(customer=customer, action="created").exists()


def test_customer_create_without_balance_and_duplicate():
    key = run("customer_create", "bob")[-1]
    assert balance(key) == b"ACCESS_BALANCE:0.00"
    with pytest.raises(CommandError, match="already exists"):
        run("customer_create", "bob")


def test_customer_create_rejects_bad_balance_and_creates_nothing():
    for bad in ("1.234", "-5", "abc", "0"):
        with pytest.raises(CommandError):
            run("customer_create", "carol", "--balance", bad)
    assert not Customer.objects.filter(username="carol").exists()


def test_block_unblock_and_audit():
    key = run("customer_create", "dave", "--balance", "5")[-1]
    run("customer_block", "dave", "--reason", "spam")
    assert balance(key) == b"ACCOUNT_BLOCKED"
    assert "already blocked" in run("customer_block", "dave")[-1]
    with pytest.raises(CommandError, match="--reason"):
        run("customer_unblock", "dave")  # unblocking asks for a reason, like blocking
    with pytest.raises(CommandError, match="needs a reason"):
        run("customer_unblock", "dave", "--reason", "  ")
    assert balance(key) == b"ACCOUNT_BLOCKED"
    run("customer_unblock", "dave", "--reason", "paid the invoice")
    assert balance(key) == b"ACCESS_BALANCE:5.00"
    actions = list(AuditEvent.objects.filter(customer__username="dave").values_list("action", "reason"))
    assert ("blocked", "spam") in actions and ("unblocked", "paid the invoice") in actions
    assert len([a for a in actions if a[0] == "blocked"]) == 1


def test_rotate_key():
    old = run("customer_create", "erin", "--balance", "1")[-1]
    new = run("customer_rotate_key", "erin")[-1]
    assert is_well_formed(new) and new != old
    assert balance(old) == b"BAD_KEY"
    assert balance(new) == b"ACCESS_BALANCE:1.00"


def test_wallet_credit_with_note_and_key():
    key = run("customer_create", "frank")[-1]
    assert "credited 12.50 PKR" in run("wallet_credit", "frank", "12.50", "--note", "bank ref 77")[-1]
    assert balance(key) == b"ACCESS_BALANCE:12.50"
    run("wallet_credit", "frank", "10", "--key", "pay-1")
    assert "already credited" in run("wallet_credit", "frank", "10", "--key", "pay-1")[-1]
    assert balance(key) == b"ACCESS_BALANCE:22.50"
    assert Transfer.objects.filter(memo="bank ref 77").count() == 1
    for bad in ("-1", "1.001", "x"):
        with pytest.raises(CommandError):
            run("wallet_credit", "frank", bad)


def test_commands_on_unknown_customer_fail_clearly():
    for args in (
        ("customer_block", "nobody"),
        ("customer_unblock", "nobody", "--reason", "r"),
        ("customer_rotate_key", "nobody"),
        ("wallet_credit", "nobody", "1"),
    ):
        with pytest.raises(CommandError, match="no customer named"):
            run(*args)
