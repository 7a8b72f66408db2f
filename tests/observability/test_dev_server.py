"""The embedded run's server (`make run`: `manage.py serve`, Django's development server): its request
lines are text by default (LOG_FORMAT unset, EMBEDDED=1), JSON with LOG_FORMAT=json; masked and
carrying the request id either way."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from accounts.keys import generate_api_key
from tests.reseller.test_gunicorn_edges import HANDLER, ROOT
from tests.subprocess_env import production_env

pytestmark = pytest.mark.django_db(transaction=True)


def serve(tmp_path, log_format: str | None, embedded: bool = True) -> tuple[str, str, str]:
    """(key, request id, everything the server wrote) for one handler_api request with a key."""
    key = generate_api_key()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = production_env(
        EMBEDDED="1" if embedded else "0",
        DEBUG="0",
        REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    env.pop("LOG_FORMAT", None)
    if log_format:
        env["LOG_FORMAT"] = log_format
    log = tmp_path / f"serve-{log_format}-{embedded}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--noreload", "--nostatic", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{HANDLER}?api_key={key}&action=x", timeout=2) as r:
                    assert r.read() == b"BAD_KEY"
                    request_id = r.headers["X-Request-ID"]
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        # The request line is written after the response: wait for it before stopping the server.
        deadline = time.monotonic() + 10
        while "django.server" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return key, request_id, log.read_text(errors="replace")


def test_text_by_default_in_the_embedded_run(tmp_path):
    key, request_id, text = serve(tmp_path, None)
    assert key not in text
    assert f'INFO django.server [{request_id}] "GET {HANDLER}?api_key=***&action=x HTTP/1.1" 200' in text, text


def test_json_when_asked(tmp_path):
    key, request_id, text = serve(tmp_path, "json")
    assert key not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    (request_line,) = [line for line in lines if line["logger"] == "django.server"]
    assert request_line["request_id"] == request_id and request_line["status_code"] == 200
    assert request_line["message"] == f'"GET {HANDLER}?api_key=***&action=x HTTP/1.1" 200 7'


def test_masked_with_production_settings(tmp_path):
    """The same server with production settings (EMBEDDED=0, LOG_FORMAT unset: JSON): masked too."""
    key, request_id, text = serve(tmp_path, None, embedded=False)
    assert key not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    (request_line,) = [line for line in lines if line["logger"] == "django.server"]
    assert request_line["message"] == f'"GET {HANDLER}?api_key=***&action=x HTTP/1.1" 200 7'
    assert request_line["request_id"] == request_id
