"""gunicorn (gunicorn.conf.py) with LOG_FORMAT=json and the access log on: its own lines (the
master's, its warnings about refused request lines, the access log) are JSON lines like Django's,
every key masked; an access line carries the request's fields and the id its response was sent with."""

import json
import re
import secrets

import pytest

from accounts.keys import generate_api_key
from tests.reseller.test_gunicorn_edges import HANDLER, gunicorn  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_gunicorn_lines_are_json_and_masked(gunicorn, customer_with_key):  # noqa: F811
    _, good = customer_with_key(balance="5.00")
    keys = [good] + [generate_api_key() for _ in range(4)]
    webhook_secret = secrets.token_urlsafe(24)
    server = gunicorn(GUNICORN_ACCESS_LOG="1", LOG_FORMAT="json")

    status, head, body = server.get(
        f"{HANDLER}?api_key={good}&action=getBalance",
        f"Referer: http://x/?api_key={keys[1]}\r\nX-Request-ID: abc-123\r\n",
    )
    assert (status, body) == (200, b"ACCESS_BALANCE:5.00") and re.search(rb"\r\nX-Request-ID: abc-123(\r\n|$)", head)
    # An id that is not well-formed (too long) is replaced by one of the server's.
    status, head, body = server.get(f"{HANDLER}?api%5Fkey={keys[2]}&action=getBalance", f"X-Request-ID: {'x' * 65}\r\n")
    assert body == b"BAD_KEY"
    made = re.search(rb"\r\nX-Request-ID: ([0-9a-f]{32})(\r\n|$)", head).group(1).decode()
    # A request line gunicorn refuses (a raw non-ASCII byte) and quotes in its warning.
    assert server.get(f"{HANDLER}?api_key={keys[3]}&action=get\xffBalance".encode("latin-1"))[0] == 400
    # An upstream's webhook URL: its secret is in the path.
    webhook_status = server.get(f"/upstream/webhook/7/{webhook_secret}?api_key={keys[4]}")[0]
    assert webhook_status == 405  # a webhook is POSTed

    text = server.stop()
    for secret in [*keys, webhook_secret]:
        assert secret not in text, text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    by_logger: dict[str, list[dict]] = {}
    for line in lines:
        by_logger.setdefault(line["logger"], []).append(line)
    assert any(line["message"].startswith("Starting gunicorn") for line in by_logger["gunicorn.error"])
    refused = [line for line in by_logger["gunicorn.error"] if "Invalid request from ip=127.0.0.1" in line["message"]]
    assert refused and "api_key=***" in refused[0]["message"] and refused[0]["level"] == "WARNING"

    access = [line for line in by_logger["gunicorn.access"] if line["path"] != "/healthz"]
    first, second, webhook = access
    assert first["request_id"] == "abc-123" and first["status"] == 200 and first["method"] == "GET"
    assert first["path"] == f"{HANDLER}?api_key=***&action=getBalance" and first["referer"] == "http://x/?api_key=***"
    assert f'"GET {HANDLER}?api_key=***&action=getBalance HTTP/1.1" 200' in first["message"]
    assert isinstance(first["duration_ms"], float) and first["bytes"] == len(b"ACCESS_BALANCE:5.00")
    assert second["request_id"] == made and second["path"] == f"{HANDLER}?api%5Fkey=***&action=getBalance"
    assert webhook["path"] == "/upstream/webhook/7/***?api_key=***" and webhook["status"] == webhook_status
