"""Hostile input never yields a 500 or a traceback: always 200 and a protocol token."""

import json

import pytest

pytestmark = pytest.mark.django_db

TOKENS = {b"BAD_KEY", b"BAD_ACTION", b"ACCOUNT_BLOCKED", b"ACCESS_BALANCE:500.00"}
PATHS = ["/stubs/handler_api.php", "/stubs/cheap_handler.php"]
JSON_PATHS = ["/stubs/rental-handler.php", "/stubs/email_handler.php"]

HOSTILE_KEYS = [
    "",
    "k" * 10_000,
    "ключключключключключключключключ",  # 32 non-ASCII letters
    "' OR '1'='1' --",
    "a" * 31 + "'",
    "%00" * 11,
    "\x00" * 32,
    "🙂" * 32,
    " " * 32,
]


@pytest.fixture
def key(customer_with_key):
    return customer_with_key(balance="500")[1]


def assert_token(response, allowed=TOKENS):
    assert response.status_code == 200
    assert response.content in allowed, response.content


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("bad", HOSTILE_KEYS)
def test_hostile_keys(client, path, bad):
    assert_token(client.get(path, {"api_key": bad, "action": "getBalance"}), {b"BAD_KEY"})
    assert_token(client.post(path, {"api_key": bad, "action": "getBalance"}), {b"BAD_KEY"})


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "action",
    ["", "x" * 10_000, "getBalance'; DROP TABLE accounts_customer; --", "ゲット", "getBalance\x00", "GETBALANCE"],
)
def test_hostile_actions(client, key, path, action):
    assert_token(client.get(path, {"api_key": key, "action": action}), {b"BAD_ACTION"})


@pytest.mark.parametrize("path", PATHS + JSON_PATHS)
def test_action_that_is_not_a_string(client, key, path):
    for query in (f"api_key={key}&action[]=getBalance", f"api_key={key}&action[x]=getBalance"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200
        assert b"BAD_ACTION" in response.content or b"Unknown action" in response.content
    body = json.dumps({"api_key": key, "action": ["getBalance"]})
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 200
    assert b"BAD_ACTION" in response.content or b"Unknown action" in response.content


def test_json_body_parameters_are_read(client, key):
    body = json.dumps({"api_key": key, "action": "getBalance"})
    assert_token(client.post(PATHS[0], data=body, content_type="application/json"), {b"ACCESS_BALANCE:500.00"})
    for bad in ("[1,2]", "{", "null", '"x"', "{}" + " " * 70_000):
        assert_token(client.post(PATHS[0], data=bad, content_type="application/json"), {b"BAD_KEY"})


def test_repeated_parameters_last_wins_like_php(client, key):
    assert_token(
        client.get(f"{PATHS[0]}?api_key=x&api_key={key}&action=nope&action=getBalance"), {b"ACCESS_BALANCE:500.00"}
    )
    assert_token(client.get(f"{PATHS[0]}?api_key={key}&api_key=x&action=getBalance"), {b"BAD_KEY"})


def test_key_as_array_is_bad_key(client, key):
    assert_token(client.get(f"{PATHS[0]}?api_key[]={key}&action=getBalance"), {b"BAD_KEY"})


def test_broken_encodings_and_bodies(client, key):
    assert_token(client.get(f"{PATHS[0]}?api_key=%ff%fe%00&action=%c3%28"), {b"BAD_KEY"})
    assert_token(client.get(f"{PATHS[0]}?api_key={key}&action=%c3%28"), {b"BAD_ACTION"})
    # A form body with too many fields is ignored; the query string still counts.
    many = "&".join(f"f{i}=1" for i in range(5000))
    response = client.post(
        f"{PATHS[0]}?api_key={key}&action=getBalance", data=many, content_type="application/x-www-form-urlencoded"
    )
    assert_token(response, {b"ACCESS_BALANCE:500.00"})
    response = client.post(PATHS[0], data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x")
    assert_token(response, {b"BAD_KEY"})
    # Too many fields in the query string itself.
    assert_token(client.get(f"{PATHS[0]}?{many}"), {b"BAD_KEY"})


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_answer_like_get(client, key, method):
    # HEAD and OPTIONS run no action: tests/reseller/protocol/test_inert_methods.py
    response = getattr(client, method)(f"{PATHS[0]}?api_key={key}&action=getBalance")
    assert_token(response, {b"ACCESS_BALANCE:500.00"})


def test_head_has_no_body(client, key):
    response = client.head(PATHS[0], {"api_key": key, "action": "getBalance"})
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize("path", JSON_PATHS)
@pytest.mark.parametrize("bad", HOSTILE_KEYS)
def test_hostile_keys_on_json_endpoints(client, path, bad):
    response = client.get(path, {"api_key": bad, "action": "x"})
    assert response.status_code == 200
    assert json.loads(response.content)["status"] == "401"


def test_unexpected_error_answers_generic_token(client, key, monkeypatch, caplog):
    from reseller.protocol import endpoints

    def boom(call):
        raise RuntimeError("database fell over")

    monkeypatch.setitem(endpoints.HANDLER_API.actions, "getBalance", boom)
    monkeypatch.setitem(endpoints.CHEAP_HANDLER.actions, "getBalance", boom)
    assert client.get(PATHS[0], {"api_key": key, "action": "getBalance"}).content == b"ERROR_SQL"
    assert client.get(PATHS[1], {"api_key": key, "action": "getBalance"}).content == b"DATABASE_ERROR"
    assert "database fell over" in caplog.text


def test_long_unknown_action_is_not_echoed_whole(client, key):
    response = client.get(JSON_PATHS[0], {"api_key": key, "action": "z" * 10_000})
    message = json.loads(response.content)["message"]
    assert message == "Unknown action: " + "z" * 100
