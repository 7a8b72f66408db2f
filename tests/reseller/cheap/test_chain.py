"""A chain of two servers over `otpget-cheap`: instance B (this test's) buys cheap numbers from
instance A's cheap_handler.php (a separate server process with its own database, its cheap
server on a sandbox upstream). A customer of B buys from B's cheap server, the SMS originates at
A's sandbox and travels through A's and then B's status sync, the finish reaches A, and both
ledgers verify."""

import time
from decimal import Decimal

import pytest

from billing.services import markup_set
from reseller.activations.sync import provider_sync_statuses
from tests.reseller.cheap.conftest import order_of
from tests.reseller.conftest import balance_of
from tests.reseller.test_chain_of_servers import instance_a  # noqa: F401 - the fixture
from upstream.models import Offer, Service, ServiceMapping
from upstream.services import catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


def test_customer_of_b_completes_a_cheap_number_sourced_at_a(instance_a, cheap_text, customer_with_key):  # noqa: F811
    a_server = instance_a["manage"](
        "cheap_server_add", "--type", "1", "--name", "TG India at A", "--slot", "1",
        "--service", "tg", "--country", "22", "--price", "200",
    ).strip().splitlines()[-1]  # fmt: skip
    catalogue_seed()
    markup_set(scope="global", percent=Decimal("20"))  # B's margin on top of A's price
    provider = provider_add(
        slot=1,
        protocol="otpget-cheap",
        url=instance_a["url"].replace("handler_api.php", "cheap_handler.php"),
        api_key=instance_a["key"],
        currency="PKR",
        name="instance A (cheap)",
        config={"type": 1, "country": 22},
    )
    catalogue_sync(provider=provider)
    mapping = ServiceMapping.objects.get(provider=provider, upstream_code=a_server)  # A's server, one service
    mapping.service = Service.objects.get(code="tg")
    mapping.save(update_fields=["service"])
    catalogue_sync(provider=provider)
    offer = Offer.objects.get(provider=provider, service__code="tg", country_id=22)
    assert offer.cost == Decimal("200.00")  # A's fixed price, read from its getServices label

    from django.core.management import call_command

    call_command("cheap_server_add", "--type", "1", "--name", "TG via A", "--slot", "1", "--service", "tg",
                 "--country", "22")  # fmt: skip
    customer, key = customer_with_key(balance="500.00")
    servers = cheap_text(key, "getServers", type="1")
    assert '"name":"TG via A"' in servers, servers
    server_id = servers.split('"id":"')[1].split('"')[0]
    assert cheap_text(key, "getServices", server=server_id, type="1") == (
        f'{{"{Service.objects.get(code="tg").pk}":"Telegram \\u2014 \\u20a8240.00"}}'
    )
    reply = cheap_text(key, "buyNumber", server=server_id, type="1")
    order = order_of(reply)
    assert order.upstream_id.startswith("ORD_") and order.cost_pkr == Decimal("200.00")
    assert balance_of(customer) == Decimal("260.00")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # A's sandbox sends the SMS; A's and then B's status sync carry it
        provider_sync_statuses(provider_id=provider.pk)
        if cheap_text(key, "getStatus", id=f"ORD_{order.pk}").startswith("STATUS_OK:"):
            break
        time.sleep(0.5)
    order.refresh_from_db()
    assert order.state == "code_received" and order.code, order.state
    assert cheap_text(key, "setStatus", id=f"ORD_{order.pk}", status="6") == "ACCESS_FINISH"
    order.refresh_from_db()
    assert order.state == "finished" and order.upstream_pending == ""  # the finish reached A
    assert balance_of(customer) == Decimal("260.00")

    out = instance_a["manage"]("ledger_verify")
    assert out.startswith("ledger_verify: OK"), out
    a_side = (
        instance_a["manage"](
            "shell",
            "-c",
            (
                "from accounts.models import Customer; from billing.selectors import wallet_of; "
                "from reseller.models import Activation; "
                "w = wallet_of(Customer.objects.get(username='reseller-b')); "
                "o = Activation.objects.get(kind='cheap'); print(w.balance - w.held, o.state)"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    assert a_side == "800.00 finished"  # B's account at A paid A's fixed price once
