"""Hostile parameters on every cheap_handler.php action: always HTTP 200 and one of the
endpoint's tokens or JSON, never a 500 and never the generic DATABASE_ERROR."""

import pytest

from reseller.protocol.endpoints import CHEAP_HANDLER
from tests.reseller.cheap.conftest import PATH, server_on
from tests.reseller.protocol.test_fuzz_actions import HOSTILE

pytestmark = pytest.mark.django_db

PARAMS = ["id", "status", "server", "type", "service"]
TOKENS = {
    b"BAD_TYPE",
    b"BAD_SERVER",
    b"BAD_ID",
    b"BAD_STATUS",
    b"NO_ACTIVATION",
    b"NO_SERVICES",
    b"NO_SERVERS",
    b"NO_NUMBERS",
    b"LOW_BALANCE",
}


@pytest.fixture
def key(sandbox, customer_with_key):
    return customer_with_key(balance="100.00")[1]


@pytest.mark.parametrize("action", sorted(CHEAP_HANDLER.actions))
def test_hostile_values_never_break_an_action(client, sandbox, key, action, django_capture_on_commit_callbacks):
    """Each hostile value in one parameter, the others valid (a real server; a status 8)."""
    server = server_on(sandbox)
    valid = {"server": str(server.pk), "status": "8", "type": "1"}
    for value in HOSTILE:
        for name in PARAMS:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.get(PATH, {"api_key": key, "action": action, **valid, name: value})
            assert response.status_code == 200, (action, name, value)
            body = response.content
            assert body in TOKENS or body.startswith((b"{", b"ORD_", b"ACCESS_BALANCE:")), (action, name, value, body)


@pytest.mark.parametrize("action", sorted(CHEAP_HANDLER.actions))
def test_array_parameters(client, key, action):
    for name in PARAMS:
        response = client.get(f"{PATH}?api_key={key}&action={action}&{name}[]=1&{name}[]=2")
        assert response.status_code == 200 and response.content != b"DATABASE_ERROR", (action, name, response.content)
