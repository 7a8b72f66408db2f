"""A chain of two servers over `otpget-rental`: instance B (this test's) rents from instance A's
rental-handler.php (a separate server process with its own database and a sandbox that rents and
sends an SMS every few seconds). A customer of B rents on B's rental-handler.php, the SMS travel
from A's sandbox through A's and then B's rental sync, a renewal goes through both, and both
ledgers verify."""

import json
import time
from decimal import Decimal

import pytest

from billing.markup import markup_set
from reseller.models import Rental
from reseller.rentals.lifecycle import rentals_sync
from reseller.rentals.servers import rental_server_set
from tests.reseller.conftest import balance_of
from tests.reseller.test_chain_of_servers import instance_a  # noqa: F401 - the fixture
from upstream.models import RentOffer
from upstream.services import catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db
PATH = "/stubs/rental-handler.php"

SETUP_RENTALS_AT_A = """
from upstream.models import Provider
from reseller.rentals.servers import rental_server_set
p = Provider.objects.get(slot=1)
p.config = {**p.config, "rent_sms_every_seconds": 3}
p.save(update_fields=["config"])
rental_server_set(server=1, provider=p)
print("ok")
"""


def call(client, key, action, **params) -> dict:
    response = client.get(PATH, {"api_key": key, "action": action, **params})
    assert response.status_code == 200
    return json.loads(response.content)


def test_customer_of_b_rents_a_number_sourced_at_a(instance_a, client, customer_with_key):  # noqa: F811
    assert instance_a["manage"]("shell", "-c", SETUP_RENTALS_AT_A).strip().endswith("ok")
    catalogue_seed()
    markup_set(scope="global", percent="25", product="rental")  # B's margin on A's rental price
    provider = provider_add(
        slot=1,
        protocol="otpget-rental",
        url=instance_a["url"].replace("handler_api.php", "rental-handler.php"),
        api_key=instance_a["key"],
        currency="PKR",
        name="instance A (rentals)",
        config={"provider": 1},
    )
    catalogue_sync(provider=provider)
    offer = RentOffer.objects.get(provider=provider, country_id=22, service=None, hours=24)
    rental_server_set(server=1, provider=provider)

    customer, key = customer_with_key(balance="5000.00")
    rented = call(client, key, "rentNumber", country_code="in", provider="1", duration_hours="24")
    assert rented["status"] == "200", rented
    rental = Rental.objects.get(pk=int(rented["order_id"]))
    assert rental.cost_pkr == offer.cost and rental.price == (offer.cost * Decimal("1.25")).quantize(Decimal("0.01"))
    assert Decimal(rented["new_balance"]) == balance_of(customer) == Decimal("5000.00") - rental.price

    deadline = time.monotonic() + 40
    messages = []
    while time.monotonic() < deadline and len(messages) < 2:  # A's sandbox -> A's rental sync -> B's
        rentals_sync(provider_id=provider.pk)
        messages = call(client, key, "getRentalSMS", order_id=rented["order_id"])["messages"]
        time.sleep(1)
    assert len(messages) >= 2 and all(m["text"] for m in messages), messages

    renewed = call(client, key, "renewRental", rental_id=rented["order_id"], duration_hours="24", request_id="r-1")
    assert renewed["status"] == "200", renewed
    again = call(client, key, "renewRental", rental_id=rented["order_id"], duration_hours="24", request_id="r-1")
    assert again["new_expiry"] == renewed["new_expiry"]  # the same renewal, charged once
    assert balance_of(customer) == Decimal("5000.00") - 2 * rental.price

    out = instance_a["manage"]("ledger_verify")
    assert out.startswith("ledger_verify: OK"), out
    a_side = (
        instance_a["manage"](
            "shell",
            "-c",
            (
                "from accounts.models import Customer; from billing.selectors import wallet_of; "
                "from reseller.models import Rental; "
                "w = wallet_of(Customer.objects.get(username='reseller-b')); r = Rental.objects.get(); "
                "print(w.balance - w.held, r.state, r.renewals.filter(state='done').count())"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    balance_at_a, state, renewals = a_side.split()
    assert Decimal(balance_at_a) == Decimal("1000.00") - 2 * offer.cost  # B paid A twice: rent, one renewal
    assert (state, renewals) == ("active", "1")
