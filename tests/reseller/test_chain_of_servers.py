"""A chain of two servers: instance B (this test's) buys from instance A (a separate
server process with its own database) through the `otpget` protocol. A customer of B
completes a whole activation whose SMS originates at A's sandbox, and both ledgers verify."""

import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from billing.services import markup_set
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from tests.reseller.conftest import balance_of
from tests.subprocess_env import database_url, production_env
from upstream.models import ServiceMapping
from upstream.services import catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

SETUP_A = """
from decimal import Decimal
from accounts.services import customer_create
from billing.selectors import wallet_of
from billing.services import markup_set, wallet_topup
from upstream.services import catalogue_sync, provider_add
p = provider_add(slot=1, protocol="sandbox", url="", api_key="", config={"sms_delay_seconds": 1})
catalogue_sync(provider=p)
markup_set(scope="global", percent=Decimal("10"))
c, key = customer_create(username="reseller-b")
wallet_topup(wallet=wallet_of(c), amount="1000.00", key="chain:b")
print(key)
"""


@pytest.fixture
def instance_a():
    """Server A: its own database, a sandbox upstream, a customer account for B; served over HTTP."""
    db = connection.settings_dict
    name = f"{db['NAME']}_chain_a"
    base = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = production_env(DATABASE_URL=database_url(name), CELERY_TASK_ALWAYS_EAGER="1", UPSTREAM_POLL_SECONDS="1")

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=True
        ).stdout

    manage("migrate", "--noinput", "-v", "0")
    key = manage("shell", "-c", SETUP_A).strip().splitlines()[-1]

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--noreload", "--nostatic", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield {"url": f"{url}/stubs/handler_api.php", "key": key, "manage": manage}
    finally:
        server.terminate()
        server.wait(timeout=20)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_customer_of_b_completes_an_activation_sourced_at_a(instance_a, api, customer_with_key):
    catalogue_seed()
    markup_set(scope="global", percent=Decimal("15"))  # B's own margin on top of A's price
    provider = provider_add(
        slot=1,
        protocol="otpget",
        url=instance_a["url"],
        api_key=instance_a["key"],
        currency="PKR",
        name="instance A",
        config={"type": 1, "active_list": True},
    )
    catalogue_sync(provider=provider)
    assert ServiceMapping.objects.filter(provider=provider, service__code="tg").exists()  # matched by name

    customer, key = customer_with_key(balance="500.00")
    reply = api(key, "getNumber", service="tg", country="22")
    assert reply.startswith("ACCESS_NUMBER:"), reply
    activation = Activation.objects.get(pk=int(reply.split(":")[1]))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # A's sandbox sends the SMS; A's and then B's status sync carry it
        provider_sync_statuses(provider_id=provider.pk)
        if api(key, "getStatus", id=activation.pk).startswith("STATUS_OK:"):
            break
        time.sleep(0.5)
    activation.refresh_from_db()
    assert activation.state == "code_received" and activation.code, activation.state
    assert api(key, "getStatus", id=activation.pk) == f"STATUS_OK:{activation.code}"
    assert api(key, "setStatus", id=activation.pk, status="6") == "ACCESS_ACTIVATION"
    activation.refresh_from_db()
    assert activation.upstream_pending == ""  # the finish reached A

    assert balance_of(customer) == Decimal("500.00") - activation.price
    assert activation.price > activation.cost_pkr > 0  # B's markup on top of A's price
    # A's side: B's account there paid A's price, and A's ledger verifies.
    out = instance_a["manage"]("ledger_verify")
    assert out.startswith("ledger_verify: OK"), out
    a_balance = (
        instance_a["manage"](
            "shell",
            "-c",
            (
                "from accounts.models import Customer; from billing.selectors import wallet_of; "
                "w = wallet_of(Customer.objects.get(username='reseller-b')); print(w.balance - w.held)"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    assert Decimal(a_balance) == Decimal("1000.00") - activation.cost_pkr
