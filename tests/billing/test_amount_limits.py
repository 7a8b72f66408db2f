"""Amounts past the ledger columns' range, and every malformed amount, are refused with a clear
message by every entry point that takes one (commands, the admin's top-up): never a traceback."""

import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import Customer
from billing.errors import BalanceOutOfRange
from billing.models import LedgerAccount, Transfer
from billing.money import MAX_AMOUNT, InvalidAmount, parse_amount, parse_decimal
from billing.selectors import wallet_of
from billing.services import wallet_adjust, wallet_topup
from tests.subprocess_env import production_env

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TOP = str(MAX_AMOUNT)  # 999999999999.99


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


BAD_AMOUNTS = [
    ("1000000000000", "amount must be at most 999999999999.99 PKR"),  # one paisa-place past the column
    ("99999999999999999999", "must be at most"),
    ("1e400", "use digits with at most two decimals"),
    ("1E3", "use digits with at most two decimals"),
    ("NaN", "use digits with at most two decimals"),
    ("Infinity", "use digits with at most two decimals"),
    ("-5", "must be positive"),
    ("0", "must not be zero"),
    ("0.00", "must not be zero"),
    ("1.234", "at most two decimals"),
    ("1,5", "use digits"),
    ("", "use digits"),
    ("x" * 5000, "use digits"),
]


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_wallet_credit_refuses_bad_amounts_clearly(amount, message, customer_with_key):
    customer, _ = customer_with_key()
    with pytest.raises(CommandError, match=message) as caught:
        run("wallet_credit", customer.username, amount)
    assert len(str(caught.value)) < 200  # a 5000-character amount is not echoed whole
    assert not Transfer.objects.filter(destination=wallet_of(customer)).exists()


def test_wallet_credit_past_the_balance_column_is_a_clear_error(customer_with_key):
    """The reported traceback: each amount fits, the sum does not (numeric field overflow)."""
    customer, _ = customer_with_key()
    assert "credited 999999999999.99 PKR" in run("wallet_credit", customer.username, TOP)
    with pytest.raises(CommandError, match=r"would pass the ledger's limit of 999999999999.99 PKR; nothing booked"):
        run("wallet_credit", customer.username, "0.01")
    wallet = wallet_of(customer)
    assert wallet.balance == MAX_AMOUNT and Transfer.objects.filter(destination=wallet).count() == 1


@pytest.mark.django_db(transaction=True)
def test_wallet_credit_overflow_exits_non_zero_without_traceback(customer_with_key):
    customer, _ = customer_with_key(balance=TOP)

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=production_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    for amount in ("1", "1e400"):
        done = manage("wallet_credit", customer.username, amount)
        assert done.returncode == 1, done
        assert "Traceback" not in done.stderr and "DataError" not in done.stderr, done.stderr
        assert done.stderr.startswith("CommandError: "), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert wallet_of(customer).balance == MAX_AMOUNT


def test_cash_account_range_is_a_clear_error_for_customer_create(customer_with_key):
    """Top-ups come out of one cash account: its balance has the same range."""
    customer_with_key(balance=TOP)  # cash is now at -999999999999.99
    with pytest.raises(CommandError, match=r"account cash would pass the ledger's limit.*'bob' not created"):
        run("customer_create", "bob", "--balance", "1")
    assert not Customer.objects.filter(username="bob").exists()


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS[:6] + BAD_AMOUNTS[9:11])
def test_customer_create_balance_refuses_bad_amounts(amount, message):
    with pytest.raises(CommandError, match=message):
        run("customer_create", "carol", "--balance", amount)
    assert not Customer.objects.filter(username="carol").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--percent", "1e400"], "invalid percent '1e400': use digits with at most two decimals"),
        (["--percent", "100000"], "percent must be at most 99999.99%"),
        (["--percent", "NaN"], "invalid percent"),
        (["--percent", "10", "--fixed", "1000000000000"], "fixed must be at most 999999999999.99 PKR"),
        (["--percent", "10", "--min-margin", "1e400"], "invalid min_margin"),
        (["--percent", "10", "--round-to", "1000000"], "round_to must be at most 999999.99 PKR"),
        (["--percent", "10", "--fixed", "-1"], "fixed must be at least 0"),
        (["--percent", "10", "--fixed", "0.001"], "at most two decimals"),
    ],
)
def test_markup_set_refuses_bad_numbers(args, message):
    with pytest.raises(CommandError, match=message):
        run("markup_set", *args)


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    ("kind", "amount", "message"),
    [
        ("topup", "0.01", "would pass the ledger's limit of 999999999999.99 PKR"),
        ("adjustment", "0.01", "would pass the ledger's limit"),
        ("topup", "1e400", "use digits with at most two decimals"),
        ("topup", "1000000000000", "must be at most"),
        ("adjustment", "-1000000000000", "must be at most"),
        ("adjustment", "0", "must not be zero"),
        ("topup", "-3", "must be positive"),
    ],
)
def test_admin_top_up_refuses_out_of_range_with_a_message(admin_client, customer_with_key, kind, amount, message):
    customer, _ = customer_with_key(balance=TOP)
    wallet = wallet_of(customer)
    url = reverse("admin:billing_ledgeraccount_changelist")
    data = {"action": "credit_wallet", "_selected_action": [wallet.pk], "apply": "1", "reason": "r", "key": "c" * 32}
    response = admin_client.post(url, {**data, "kind": kind, "amount": amount}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(message in m and m.startswith("nothing booked") for m in shown), shown
    wallet.refresh_from_db()
    assert wallet.balance == MAX_AMOUNT


def test_service_level_range_errors():
    """The rule lives in billing: services raise BalanceOutOfRange, not a database error."""
    customer = Customer.objects.create_user("dave")
    wallet = wallet_of(customer)
    wallet_topup(wallet=wallet, amount=TOP, key="t1")
    with pytest.raises(BalanceOutOfRange):
        wallet_topup(wallet=wallet, amount="1", key="t2")
    with pytest.raises(BalanceOutOfRange):
        wallet_adjust(wallet=wallet, amount="1", reason="r", key="t3")
    # A debit is still fine, and the ledger stays balanced (the autouse ledger_verify).
    wallet_adjust(wallet=wallet, amount="-1", reason="r", key="t4")
    assert LedgerAccount.objects.get(pk=wallet.pk).balance == MAX_AMOUNT - 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.5", Decimal("12.50")), (" 7 ", Decimal("7.00")), (12, Decimal("12.00")), (Decimal("0.10"), Decimal("0.10"))],
)
def test_parse_amount_accepts_plain_amounts(value, expected):
    assert parse_amount(value) == expected


@pytest.mark.parametrize("value", [1.5, True, Decimal("NaN"), Decimal("Infinity"), Decimal("1E+400"), None, b"1"])
def test_parse_decimal_refuses_non_strings(value):
    with pytest.raises(InvalidAmount):
        parse_decimal(value)
