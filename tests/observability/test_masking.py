"""The masking rules (observability/masking.py) beyond the customers' `api_key=` spellings
(tests/accounts/test_redaction.py): the upstreams' key names, mappings, headers, URL passwords,
the webhook path's secret and the registered secret values; and that ordinary text is kept."""

import logging
import secrets

import pytest

from observability import masking
from observability.masking import MASK, RedactApiKeyFilter, redact, redact_data, register_secret

KEY = "4aTmwvdQ2mX2w8QVPRc052yG0Ww2a23d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET https://kopeechka.store/mailbox-get-email?token={KEY}&site=x", "?token=***&site=x"),
        (f"GET /api?key={KEY}&action=balance", "?key=***&action=balance"),
        (f"GET /api?apikey={KEY}", "?apikey=***"),
        (f"POST /api form userkey={KEY}&method=getBalance", "userkey=***&method=getBalance"),
        (f"GET /x?access_token={KEY}", "?access_token=***"),
        (f"GET /x?ToKeN={KEY}", "?ToKeN=***"),
        (f"{{'api_key': '{KEY}', 'action': 'getStatus'}}", "{'api_key': '***', 'action': 'getStatus'}"),
        (f'{{"token":"{KEY}","type":"JSON"}}', '{"token":"***","type":"JSON"}'),
        (f"headers={{'Authorization': 'Bearer {KEY}'}}", "'Authorization': 'Bearer ***'"),
        (f"Authorization: Token {KEY}", "Authorization: Token ***"),
        (f"X-Api-Key: {KEY}", "X-Api-Key: ***"),
        (f"calling with Bearer {KEY} now", "Bearer *** now"),
        (f"amqp://guest:{KEY}@rabbit:5672//", "amqp://guest:***@rabbit:5672//"),
        (f"POST /upstream/webhook/12/{KEY} HTTP/1.1", "/upstream/webhook/12/*** HTTP/1.1"),
    ],
)
def test_secret_forms_are_masked(text, expected):
    masked = redact(text)
    assert KEY not in masked and expected in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        "Task reseller.forward_status[0b5e] succeeded in 0.01s: None",
        "upstream answered the token NO_NUMBERS for getNumber",
        "queue declared with routing_key=t1.forward exchange_key=x",
        "redis://127.0.0.1:6379/12",
        "provider slot 1 setStatus: ACCESS_CANCEL",
    ],
)
def test_ordinary_text_is_kept(text):
    assert redact(text) == text


def test_registered_secrets_are_masked_wherever_they_appear(monkeypatch):
    monkeypatch.setattr(masking, "_secrets", {})
    value = "up/" + secrets.token_hex(10) + "+="
    register_secret(value)
    register_secret("short")  # too short to scrub as a bare substring
    text = (
        f"body echoed {value}; in a URL path /v1/{value.replace('/', '%2F').replace('+', '%2B').replace('=', '%3D')}/x"
    )
    masked = redact(text)
    assert value not in masked and "%2B" not in masked and masked.count(MASK) == 2, masked
    assert redact("a short word") == "a short word"


def test_registry_is_bounded(monkeypatch):
    monkeypatch.setattr(masking, "_secrets", {})
    for n in range(masking._MAX_SECRETS + 1):
        register_secret(f"secret-value-{n:05d}")
    assert len(masking.registered_secrets()) == masking._MAX_SECRETS
    assert "secret-value-00000" not in masking.registered_secrets()  # the oldest went first


def test_redact_data_masks_nested_strings_and_secret_keys():
    event = {
        "request": {
            "url": f"http://h/stubs/handler_api.php?api_key={KEY}",
            "query_string": f"api_key={KEY}&action=getBalance",
            "headers": {"Authorization": f"Basic {KEY}", "User-Agent": "curl"},
        },
        "breadcrumbs": {"values": [{"message": f"GET /x?token={KEY}", "data": {"url": f"/x?key={KEY}"}}]},
        "exception": {"values": [{"value": f"Max retries exceeded with url: /x?userkey={KEY}"}]},
        "extra": {"api_key": KEY, "count": 3, "ok": None, "pair": (f"key={KEY}", 1)},
    }
    masked = redact_data(event)
    assert KEY not in repr(masked)
    assert masked["request"]["query_string"] == "api_key=***&action=getBalance"
    assert masked["request"]["headers"] == {"Authorization": MASK, "User-Agent": "curl"}
    assert masked["extra"] == {"api_key": MASK, "count": 3, "ok": None, "pair": ("key=***", 1)}
    assert KEY in repr(event)  # a copy: the caller's data is untouched


def test_filter_masks_stack_info_and_broken_records(caplog):
    log = logging.getLogger("tests.observability.masking")
    log.addFilter(RedactApiKeyFilter())
    try:
        with caplog.at_level(logging.INFO, logger=log.name):
            log.info(f"token={KEY}", stack_info=True)
            log.info("two args %s %s", KEY)  # malformed: its text kept, its arguments dropped
    finally:
        log.filters.clear()
    assert KEY not in caplog.text and "token=***\nStack (most recent call last)" in caplog.text
    assert "two args %s %s" in caplog.text
