"""Hostile parameters on every handler_api action: always HTTP 200 and a
documented token or JSON, never a 500 and never the generic ERROR_SQL."""

import pytest

from reseller.protocol.endpoints import HANDLER_API

pytestmark = pytest.mark.django_db

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "-999999999999999999999",
    "9" * 50,
    "1.5",
    "1e9",
    "abc",
    "ключ",
    "🙂",
    "' OR 1=1 --",
    "\x00",
    "x" * 10_000,
    "NaN",
    "Infinity",
    "[]",
    "{}",
    "1,2",
]
PARAMS = [
    "id",
    "status",
    "service",
    "country",
    "type",
    "maxPrice",
    "operator",
    "phoneException",
    "orderId",
    "start",
    "end",
    "offset",
    "limit",
    "freePrice",
    "lang",
]


@pytest.fixture
def key(sandbox, customer_with_key):
    return customer_with_key(balance="100.00")[1]


@pytest.mark.parametrize("action", sorted(HANDLER_API.actions))
def test_hostile_values_never_break_an_action(client, key, action, django_capture_on_commit_callbacks):
    for value in HOSTILE:
        for name in PARAMS:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.get("/stubs/handler_api.php", {"api_key": key, "action": action, name: value})
            assert response.status_code == 200, (action, name, value)
            assert response.content not in (b"ERROR_SQL", b""), (action, name, value, response.content)


@pytest.mark.parametrize("action", sorted(HANDLER_API.actions))
def test_array_parameters(client, key, action):
    for name in PARAMS:
        response = client.get(f"/stubs/handler_api.php?api_key={key}&action={action}&{name}[]=1&{name}[]=2")
        assert response.status_code == 200 and response.content != b"ERROR_SQL", (action, name, response.content)
