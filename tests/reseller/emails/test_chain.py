"""A chain of two servers over `otpget-email`: instance B (this test's) buys mailboxes from instance
A's email_handler.php (a separate server process with its own database, whose sandbox delivers a
letter two seconds after purchase and whose embedded beat runs its letter sync). A customer of B
buys on B's email_handler.php, the letter travels from A's sandbox through A's and then B's letter
sync, a cancel goes through both and is refunded at both, and both ledgers verify."""

import json
import time
from decimal import Decimal

import pytest

from billing.markup import markup_set
from reseller.emails.lifecycle import emails_sync
from reseller.emails.servers import email_server_set
from reseller.models import EmailOrder
from tests.reseller.conftest import balance_of
from tests.reseller.test_chain_of_servers import instance_a  # noqa: F401 - the fixture
from upstream.models import EmailOffer
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db
PATH = "/stubs/email_handler.php"

SETUP_EMAILS_AT_A = """
from upstream.models import Provider
from reseller.emails.servers import email_server_set
p = Provider.objects.get(slot=1)
p.config = {**p.config, "email_letter_delay_seconds": 2}
p.save(update_fields=["config"])
email_server_set(server=1, provider=p)
email_server_set(server=2, provider=p)
print("ok")
"""

A_SIDE = (
    "from accounts.models import Customer; from billing.selectors import wallet_of; "
    "from reseller.models import EmailOrder; "
    "w = wallet_of(Customer.objects.get(username='reseller-b')); "
    "print(w.balance - w.held, ','.join(o.state for o in EmailOrder.objects.order_by('id')))"
)


def call(client, key, action, **params) -> dict:
    response = client.get(PATH, {"api_key": key, "action": action, **params})
    assert response.status_code == 200
    return json.loads(response.content)


def test_customer_of_b_buys_a_mailbox_sourced_at_a(instance_a, client, customer_with_key):  # noqa: F811
    assert instance_a["manage"]("shell", "-c", SETUP_EMAILS_AT_A).strip().endswith("ok")
    markup_set(scope="global", percent="25", product="email")  # B's margin on A's price
    provider = provider_add(
        slot=1,
        protocol="otpget-email",
        url=instance_a["url"].replace("handler_api.php", "email_handler.php"),
        api_key=instance_a["key"],
        currency="PKR",
        name="instance A (e-mails)",
        config={"domains": ["gmail.com", "mail.com"]},
    )
    result = catalogue_sync(provider=provider)
    assert result.emails and not result.email_error, result.summary()
    ig = EmailOffer.objects.get(provider=provider, domain="gmail.com", service="ig")
    assert ig.cost == Decimal("132.0000")  # A's sandbox 120.00 + A's 10 %
    for server in (1, 2):
        email_server_set(server=server, provider=provider)

    customer, key = customer_with_key(balance="1000.00")
    bought = call(client, key, "buyEmail", server="1", service_id="ig", domain="gmail.com")
    assert bought["status"] == "200", bought
    order = EmailOrder.objects.get(pk=int(bought["email_id"]))
    assert order.price == Decimal("165.00") and order.upstream_id.startswith("1:")
    assert Decimal(str(bought["balance"])) == balance_of(customer) == Decimal("835.00")

    deadline = time.monotonic() + 40
    code = {}
    while time.monotonic() < deadline:  # A's sandbox -> A's letter sync -> B's
        emails_sync(provider_id=provider.pk)
        code = call(client, key, "getEmailCode", email_id=bought["email_id"])
        if code["status"] == "200":
            break
        time.sleep(1)
    assert code["status"] == "200" and code["messages"][0]["code"].isdigit(), code
    assert code["messages"][0]["code"] in code["messages"][0]["text"]

    other = call(client, key, "buyEmail", server="2", domain="mail.com", site="telegram.org")
    assert other["status"] == "200", other
    cancelled = call(client, key, "cancelEmail", email_id=other["email_id"])
    assert cancelled["status"] == "200" and "refunded" in cancelled, cancelled
    assert balance_of(customer) == Decimal("835.00")

    out = instance_a["manage"]("ledger_verify")
    assert out.startswith("ledger_verify: OK"), out
    balance_at_a, states = instance_a["manage"]("shell", "-c", A_SIDE).strip().splitlines()[-1].split()
    assert Decimal(balance_at_a) == Decimal("1000.00") - Decimal("132.00")  # B paid A for the letter only
    assert states == "received,cancelled"
