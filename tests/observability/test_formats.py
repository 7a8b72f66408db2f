"""LOG_FORMAT and the two formatters (observability/logs.py)."""

import json
import logging
import subprocess
import sys

import pytest

from observability.logs import JsonFormatter, TextFormatter, log_format
from observability.request_id import RequestContextFilter, request_id_var
from tests.reseller.test_gunicorn_edges import ROOT
from tests.subprocess_env import production_env

KEY = "4aTmwvdQ2mX2w8QVPRc052yG0Ww2a23d"


@pytest.mark.parametrize(
    ("value", "embedded", "expected"),
    [(None, True, "text"), (None, False, "json"), ("", False, "json"), ("TEXT", False, "text"), ("json", True, "json")],
)
def test_log_format(monkeypatch, value, embedded, expected):
    if value is None:
        monkeypatch.delenv("LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("LOG_FORMAT", value)
    assert log_format(embedded) == expected


@pytest.mark.django_db
def test_an_unknown_format_stops_the_start():
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=production_env(LOG_FORMAT="yaml"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "LOG_FORMAT must be one of json, text, not 'yaml'" in done.stderr


def record(msg, *args, exc_info=None, **extra) -> logging.LogRecord:
    rec = logging.LogRecord("reseller.test", logging.ERROR, __file__, 1, msg, args, exc_info)
    rec.__dict__.update(extra)
    RequestContextFilter().filter(rec)
    return rec


class Opaque:
    def __repr__(self):
        return f"<Opaque url=/x?api_key={KEY}>"

    __str__ = __repr__


def test_json_line_fields_and_masking():
    token = request_id_var.set("rid-1")
    try:
        try:
            raise RuntimeError(f"GET /x?token={KEY}")
        except RuntimeError:
            rec = record(
                "failed %s", f"/x?api_key={KEY}", exc_info=sys.exc_info(), thing=Opaque(), n=3, request=Opaque()
            )
    finally:
        request_id_var.reset(token)
    line = JsonFormatter().format(rec)
    assert "\n" not in line and KEY not in line
    data = json.loads(line)
    assert list(data)[:7] == ["timestamp", "level", "logger", "message", "request_id", "task_id", "task_name"]
    assert data["message"] == "failed /x?api_key=***" and data["request_id"] == "rid-1" and data["level"] == "ERROR"
    assert data["exc_info"].startswith("Traceback") and data["exc_info"].endswith("RuntimeError: GET /x?token=***")
    assert data["thing"] == "<Opaque url=/x?api_key=***>" and data["n"] == 3
    assert "request" not in data  # Django's request object: its repr would be the whole request line


def test_text_line_is_masked_with_the_request_id():
    token = request_id_var.set("rid-2")
    try:
        rec = record("GET %s", f"/x?userkey={KEY}")
    finally:
        request_id_var.reset(token)
    line = TextFormatter().format(rec)
    assert line.endswith("ERROR reseller.test [rid-2] GET /x?userkey=***") and KEY not in line
