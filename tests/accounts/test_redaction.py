"""API keys masked in log text (accounts/redaction.py), for every spelling a client can send."""

import logging

import pytest

from accounts.redaction import RedactApiKeyFilter, redact
from upstream.providers import http

KEY = "4aTmwvdQ2mX2w8QVPRc052yG0Ww2a23d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET /stubs/handler_api.php?api_key={KEY}&action=getBalance", "?api_key=***&action=getBalance"),
        (f"'GET /x?action=a&API_KEY={KEY} HTTP/1.1'", "&API_KEY=*** HTTP/1.1'"),
        (f"GET /x?api%5Fkey={KEY}&a=1", "?api%5Fkey=***&a=1"),
        (f"GET /x?api%5fkey={KEY}", "?api%5fkey=***"),
        (f"GET /x?%61pi_key={KEY}", "?%61pi_key=***"),
        (f"GET /x?api_key[]={KEY}", "?api_key[]=***"),
        (f"GET /x?api_key%5B%5D={KEY}", "?api_key%5B%5D=***"),
        (f"GET /x?userkey={KEY}", "?userkey=***"),
        (f'"http://ref/?api_key={KEY}"', '"http://ref/?api_key=***"'),
        (f"GET /x?api_key={KEY}\\xff&a=1", "?api_key=***&a=1"),
    ],
)
def test_redact(text, expected):
    masked = redact(text)
    assert KEY not in masked and expected in masked


def test_other_parameters_are_kept():
    text = "GET /x?action=getNumber&service=tg&country=22&p%20q=1"
    assert redact(text) == text


def test_upstream_re_exports():
    assert http.redact is redact and http.RedactApiKeyFilter is RedactApiKeyFilter


def test_filter_masks_message_arguments_and_tracebacks(caplog):
    log = logging.getLogger("tests.redaction")
    log.addFilter(RedactApiKeyFilter())
    try:
        with caplog.at_level(logging.INFO, logger="tests.redaction"):
            log.info("request %s %s", "GET", f"/x?api_key={KEY}")
            try:
                raise ValueError(f"Max retries exceeded with url: /x?api_key={KEY}")
            except ValueError:
                log.exception("upstream failed")
        assert "/x?api_key=***" in caplog.text and "Max retries exceeded with url: /x?api_key=***" in caplog.text
        assert KEY not in caplog.text
    finally:
        log.filters.clear()


def test_django_log_handlers_mask_keys(settings):
    """Every handler of the settings' LOGGING carries the filter (django.server: the embedded `serve`)."""
    handlers = settings.LOGGING["handlers"]
    assert all("redact_api_keys" in handler.get("filters", []) for handler in handlers.values())
    for name in ("django.server", "django.request"):
        assert settings.LOGGING["loggers"][name]["handlers"] == ["console"]
    record = logging.LogRecord(
        "django.server", logging.INFO, "", 0, '"%s" %s %s', (f"GET /x?api_key={KEY} HTTP/1.1", 200, 7), None
    )
    consoles = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]  # not pytest's
    assert len(consoles) == 1
    handler = consoles[0]
    assert any(isinstance(f, RedactApiKeyFilter) for f in handler.filters)
    handler.filter(record)
    assert KEY not in record.getMessage()
