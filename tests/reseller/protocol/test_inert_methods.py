"""HEAD and OPTIONS never run an action (issue 7): a HEAD caller never sees the body, so a
getNumber sent as HEAD used to buy a number nobody received. They answer HTTP 200 with an
empty body (OPTIONS adds `Allow`), touch no database row and call no upstream."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Hold
from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.conftest import age, balance_of
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db

PATHS = {
    "/stubs/handler_api.php": "text/html; charset=UTF-8",
    "/stubs/cheap_handler.php": "text/html; charset=UTF-8",
    "/stubs/rental-handler.php": "application/json",
    "/stubs/email_handler.php": "application/json",
}


@pytest.fixture
def upstream():
    with FakeSmsActivate(api_key="upstream-key") as fake:
        fake.set_offer(22, "tg", "2.00", 10)
        provider = provider_add(
            slot=1, protocol="smsactivate", url=fake.url, api_key="upstream-key", currency="RUB", rate=Decimal("3.5")
        )
        catalogue_sync(provider=provider)
        fake.clear_calls()
        yield fake


BUYING = [
    {"action": "getNumber", "service": "tg", "country": "22"},
    {"action": "getNumberV2", "service": "tg", "country": "22", "orderId": "o-1"},
    {"action": "getNumber", "service": "tg", "country": "22", "type": "1"},
]


@pytest.mark.parametrize("method", ["head", "options"])
def test_head_and_options_buy_nothing(client, upstream, customer_with_key, method):
    customer, key = customer_with_key(balance="100.00")
    for params in BUYING:
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)("/stubs/handler_api.php", {"api_key": key, **params})
        assert response.status_code == 200 and response.content == b""
        assert len(queries) == 0  # not even the key lookup
    assert upstream.actions() == []
    assert Activation.objects.count() == 0 and Hold.objects.count() == 0
    assert balance_of(customer) == Decimal("100.00")
    # The same request as GET buys: the setup is live.
    assert client.get("/stubs/handler_api.php", {"api_key": key, **BUYING[0]}).content.startswith(b"ACCESS_NUMBER:")
    assert upstream.actions() == ["getNumberV2"]


def test_head_and_options_change_no_state(client, upstream, customer_with_key):
    customer, key = customer_with_key(balance="100.00")
    reply = client.get("/stubs/handler_api.php", {"api_key": key, **BUYING[0]}).content.decode()
    activation = Activation.objects.get(pk=int(reply.split(":")[1]))
    age(activation, 150)  # past the early-cancel grace: a GET cancel would refund now
    upstream.clear_calls()
    cancel = {"api_key": key, "action": "setStatus", "id": activation.pk, "status": "8"}
    for method in ("head", "options"):
        assert getattr(client, method)("/stubs/handler_api.php", cancel).content == b""
    activation.refresh_from_db()
    assert activation.state == "active" and upstream.actions() == []
    assert balance_of(customer) == Decimal("93.00")
    assert client.get("/stubs/handler_api.php", cancel).content == b"ACCESS_CANCEL"  # the GET does it
    assert balance_of(customer) == Decimal("100.00")


@pytest.mark.parametrize("path", PATHS)
def test_answers(client, customer_with_key, path):
    _, key = customer_with_key(balance="1.00")
    head = client.head(path, {"api_key": key, "action": "getBalance"})
    assert (head.status_code, head.content, head["Content-Type"]) == (200, b"", PATHS[path])
    options = client.options(f"{path}?api_key={key}&action=getBalance")
    assert (options.status_code, options.content, options["Allow"]) == (200, b"", "GET, POST, HEAD, OPTIONS")
    assert options["Content-Type"] == PATHS[path]
