"""Golden bytes of the four endpoints: body and content type, exactly, for GET,
POST with a form body, and POST with the parameters only in the query string."""

from pathlib import Path

import pytest

from accounts.services import customer_block

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
TEXT = "text/html; charset=UTF-8"
JSON = "application/json"

PATHS = {
    "handler_api": "/stubs/handler_api.php",
    "cheap_handler": "/stubs/cheap_handler.php",
    "rental_handler": "/stubs/rental-handler.php",
    "email_handler": "/stubs/email_handler.php",
}
CONTENT_TYPES = {"handler_api": TEXT, "cheap_handler": TEXT, "rental_handler": JSON, "email_handler": JSON}
METHODS = ["get", "post_form", "post_query"]


def golden(endpoint: str, case: str) -> bytes:
    return (GOLDEN / endpoint / f"{case}.txt").read_bytes()


def call(client, endpoint: str, method: str, params: dict):
    path = PATHS[endpoint]
    if method == "get":
        return client.get(path, params)
    if method == "post_form":
        return client.post(path, params)
    # POST with an empty body and everything in the query string
    from urllib.parse import urlencode

    return client.post(f"{path}?{urlencode(params)}", data="", content_type="application/x-www-form-urlencoded")


def assert_golden(response, endpoint: str, case: str) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPES[endpoint]
    assert response.content == golden(endpoint, case)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("endpoint", ["handler_api", "cheap_handler"])
def test_get_balance(client, customer_with_key, endpoint, method):
    _, key = customer_with_key(balance="500")
    response = call(client, endpoint, method, {"api_key": key, "action": "getBalance"})
    assert_golden(response, endpoint, "getBalance")


@pytest.mark.parametrize("endpoint", ["handler_api", "cheap_handler"])
def test_get_balance_keeps_leading_digit(client, customer_with_key, endpoint):
    _, key = customer_with_key(balance="0.5")
    assert_golden(
        client.get(PATHS[endpoint], {"api_key": key, "action": "getBalance"}), endpoint, "getBalance_half_rupee"
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("endpoint", PATHS)
def test_bad_key(client, customer_with_key, endpoint, method):
    customer_with_key(balance="10")
    for params in ({"action": "getBalance"}, {"api_key": "x" * 32, "action": "getBalance"}, {"api_key": ""}):
        assert_golden(call(client, endpoint, method, params), endpoint, "bad_key")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("endpoint", PATHS)
def test_account_blocked(client, customer_with_key, endpoint, method):
    customer, key = customer_with_key(balance="10")
    customer_block(customer=customer, reason="fraud")
    response = call(client, endpoint, method, {"api_key": key, "action": "getBalance"})
    assert_golden(response, endpoint, "account_blocked")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("endpoint", ["handler_api", "cheap_handler", "email_handler"])
def test_bad_action(client, customer_with_key, endpoint, method):
    _, key = customer_with_key(balance="10")
    for action in ("noSuchAction", "", "getbalance"):
        assert_golden(call(client, endpoint, method, {"api_key": key, "action": action}), endpoint, "bad_action")
    assert_golden(call(client, endpoint, method, {"api_key": key}), endpoint, "bad_action")


@pytest.mark.parametrize("method", METHODS)
def test_rental_unknown_action_echoes_action(client, customer_with_key, method):
    _, key = customer_with_key(balance="10")
    # getBalance exists only on the plain-text endpoints.
    assert_golden(
        call(client, "rental_handler", method, {"api_key": key, "action": "getBalance"}), "rental_handler", "bad_action"
    )
    assert_golden(call(client, "rental_handler", method, {"api_key": key}), "rental_handler", "bad_action_missing")
    assert_golden(
        call(client, "rental_handler", method, {"api_key": key, "action": "a/b é"}),
        "rental_handler",
        "bad_action_escaped",
    )


def test_query_string_wins_over_form_body(client, customer_with_key):
    _, key = customer_with_key(balance="500")
    response = client.post(
        f"{PATHS['handler_api']}?action=getBalance&api_key={key}", {"action": "nothing", "api_key": "y" * 32}
    )
    assert response.content == golden("handler_api", "getBalance")


def test_blocked_customer_with_unknown_action_is_told_blocked(client, customer_with_key):
    customer, key = customer_with_key(balance="10")
    customer_block(customer=customer, reason="x")
    assert client.get(PATHS["handler_api"], {"api_key": key, "action": "nope"}).content == b"ACCOUNT_BLOCKED"


def test_inactive_customer_is_blocked(client, customer_with_key):
    customer, key = customer_with_key(balance="10")
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    assert client.get(PATHS["handler_api"], {"api_key": key, "action": "getBalance"}).content == b"ACCOUNT_BLOCKED"


def test_extra_parameters_are_ignored(client, customer_with_key):
    _, key = customer_with_key(balance="500")
    params = {"api_key": key, "action": "getBalance", "ref": "123", "json": "1", "freePrice": "true", "userId": "9"}
    assert client.get(PATHS["handler_api"], params).content == golden("handler_api", "getBalance")


def test_balance_excludes_open_holds(client, customer_with_key):
    from billing.selectors import wallet_of
    from billing.services import wallet_hold

    customer, key = customer_with_key(balance="600")
    wallet_hold(wallet=wallet_of(customer), amount="100", key="h1")
    assert client.get(PATHS["handler_api"], {"api_key": key, "action": "getBalance"}).content == golden(
        "handler_api", "getBalance"
    )


def test_rotated_key_replaces_old(client, customer_with_key):
    from accounts.services import customer_rotate_key

    customer, old = customer_with_key(balance="500")
    new = customer_rotate_key(customer=customer)
    assert client.get(PATHS["handler_api"], {"api_key": old, "action": "getBalance"}).content == b"BAD_KEY"
    assert client.get(PATHS["handler_api"], {"api_key": new, "action": "getBalance"}).content == golden(
        "handler_api", "getBalance"
    )
