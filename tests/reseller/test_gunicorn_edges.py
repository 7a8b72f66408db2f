"""The web tier as deployed: real gunicorn with gunicorn.conf.py on the test database (issue 7).

- API keys never reach its logs: not the access log, not its warnings about refused request lines;
- request lines up to 8190 bytes get the protocol's reply; longer ones gunicorn's 414;
- percent-encoded non-ASCII or invalid UTF-8 gets a protocol reply; raw non-ASCII bytes in the
  request line are refused by gunicorn (RFC 9112) with its 400 before Django runs;
- the rate limits are shared by the workers (counters in Redis).
"""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from accounts.keys import generate_api_key
from reseller.protocol import throttle
from tests.subprocess_env import production_env

ROOT = Path(__file__).resolve().parents[2]
HANDLER = "/stubs/handler_api.php"
pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn must see the customers


class Gunicorn:
    def __init__(self, port: int, proc: subprocess.Popen, out: Path, err: Path):
        self.port, self.proc, self.out, self.err = port, proc, out, err

    def request(self, raw: bytes) -> bytes:
        """Send raw bytes on a new connection; the whole answer (the server closes: Connection: close)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(raw)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def get(self, target: bytes | str, headers: str = "") -> tuple[int, bytes, bytes]:
        """(status, headers, body) of `GET target`; `headers` are sent as Latin-1 (one byte per character)."""
        if isinstance(target, str):
            target = target.encode("ascii")
        head = f" HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n".encode("latin-1")
        raw = self.request(b"GET " + target + head)
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), head, body

    def stop(self) -> str:
        """Stop the server; everything it wrote (stdout and stderr)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")


@pytest.fixture
def gunicorn(tmp_path):
    """start(**env) -> a running gunicorn (gunicorn.conf.py) on a free loopback port, on the test database
    and this checkout's test Redis; stopped at the end of the test."""
    servers: list[Gunicorn] = []
    throttle.reset()  # the counters gunicorn will use (same Redis database)

    def start(*args: str, **env_overrides: str) -> Gunicorn:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = production_env(
            REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
            DEBUG="0",
            GUNICORN_BIND=f"127.0.0.1:{port}",
            WEB_CONCURRENCY="1",
            LOG_LEVEL="INFO",
            LOG_FORMAT="text",  # these tests read gunicorn's text lines; JSON: tests/observability/
        )
        # Production settings: the limits' defaults are on.
        env = {k: v for k, v in env.items() if not k.startswith(("RATE_LIMIT_", "UNKNOWN_KEY_", "GUNICORN_"))}
        env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
        env.update(env_overrides)
        out, err = tmp_path / f"{port}.out", tmp_path / f"{port}.err"
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *args, "reseller.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out.open("wb"),
            stderr=err.open("wb"),
        )
        server = Gunicorn(port, proc, out, err)
        servers.append(server)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                return server
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, server.stop()
                time.sleep(0.2)

    yield start
    for server in servers:
        server.stop()
    throttle.reset()


def test_api_keys_never_reach_the_logs(gunicorn, customer_with_key):
    _, good = customer_with_key(balance="5.00")
    keys = [good] + [generate_api_key() for _ in range(7)]
    server = gunicorn(GUNICORN_ACCESS_LOG="1")

    # A normal call, its referer carrying a key too.
    status, _, body = server.get(
        f"{HANDLER}?api_key={good}&action=getBalance", f"Referer: http://x/?api_key={keys[1]}\r\n"
    )
    assert (status, body) == (200, b"ACCESS_BALANCE:5.00")
    # The key's name percent-encoded (Django decodes it: it is the key), and as a PHP array.
    assert server.get(f"{HANDLER}?api%5Fkey={keys[2]}&action=getBalance")[2] == b"BAD_KEY"
    assert server.get(f"{HANDLER}?api_key[]={keys[3]}&action=getBalance")[2] == b"BAD_KEY"
    # Request lines gunicorn refuses and quotes in its warning: a raw non-ASCII byte, a stray space.
    assert server.get(f"{HANDLER}?api_key={keys[4]}&action=get\xffBalance".encode("latin-1"))[0] == 400
    assert server.get(f"{HANDLER}?x=1 api_key={keys[5]}&action=getBalance")[0] == 400
    # A request line over the limit (gunicorn's 414).
    assert server.get(f"{HANDLER}?api_key={keys[6]}&pad={'a' * 9000}")[0] == 414
    # A POST body is never logged; the key in its query string is masked.
    raw = f"POST {HANDLER}?api_key={keys[7]} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 18\r\n"
    raw += "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\naction=getBalance&"
    assert server.request(raw.encode()).endswith(b"BAD_KEY")

    logs = server.stop()
    assert "Invalid request from ip=127.0.0.1" in logs  # gunicorn's warnings were written...
    assert f'GET {HANDLER}?api_key=***&action=getBalance HTTP/1.1" 200' in logs  # ...and the access log
    assert "api%5Fkey=***" in logs and "api_key[]=***" in logs
    for key in keys:
        assert key not in logs, logs


def test_request_line_limit_is_8190(gunicorn, customer_with_key):
    _, key = customer_with_key(balance="5.00")
    server = gunicorn()
    base = f"{HANDLER}?api_key={key}&action=getBalance&pad="
    fits = "GET " + base + "a" * (8190 - len(f"GET {base} HTTP/1.1")) + " HTTP/1.1"
    assert len(fits) == 8190
    status, _, body = server.get(fits[4:-9])
    assert (status, body) == (200, b"ACCESS_BALANCE:5.00")  # was gunicorn's HTML 414 past 4094
    status, head, body = server.get(fits[4:-9] + "a")
    assert status == 414 and b"text/html" in head  # documented: refused before Django, nothing runs


def test_non_ascii_in_the_query_string(gunicorn, customer_with_key):
    _, key = customer_with_key(balance="5.00")
    server = gunicorn()
    cases = {
        # Percent-encoded bytes reach Django, which decodes them as UTF-8 (invalid ones replaced):
        f"{HANDLER}?api_key={key}&action=%ff%fe": b"BAD_ACTION",
        f"{HANDLER}?api_key=%ff{key[1:]}&action=getBalance": b"BAD_KEY",
        f"{HANDLER}?api_key={key}&action=getBalance&junk=%c3%28%80": b"ACCESS_BALANCE:5.00",
        f"{HANDLER}?api_key={key}&action=getNumber&service=%e2%82%ac": b"BAD_SERVICE",
        f"{HANDLER}?api_key={key}&action=getStatus&id=%d9%a3": b"NO_ACTIVATION",  # an Arabic-Indic digit
        f"/stubs/rental-handler.php?api_key={key}&action=%C3%A9%ff": (
            b'{"status":"400","message":"Unknown action: \\u00e9\\ufffd"}'
        ),
    }
    for target, expected in cases.items():
        status, head, body = server.get(target)
        assert (status, body) == (200, expected), target
    # A raw non-ASCII byte in a header value reaches Django too (as Latin-1) and changes nothing.
    status, _, body = server.get(f"{HANDLER}?api_key={key}&action=getBalance", "User-Agent: caf\xe9\r\n")
    assert (status, body) == (200, b"ACCESS_BALANCE:5.00")
    # Raw non-ASCII bytes in the request line: gunicorn's 400 (RFC 9112 allows only printable ASCII there).
    status, head, body = server.get(f"{HANDLER}?api_key={key}&action=getBalance&x=\xe9".encode("latin-1"))
    assert status == 400 and b"Bad Request" in body


def test_rate_limits_are_shared_by_the_workers(gunicorn, customer_with_key):
    _, key = customer_with_key(balance="5.00")
    server = gunicorn(
        "--access-logformat",
        "worker=%(p)s %(s)s",
        WEB_CONCURRENCY="2",
        RATE_LIMIT_PER_KEY="10/minute",
        GUNICORN_ACCESS_LOG="1",
    )
    replies: list[bytes] = []
    lock = threading.Lock()

    def caller():
        for _ in range(8):
            body = server.get(f"{HANDLER}?api_key={key}&action=getBalance")[2]
            with lock:
                replies.append(body)

    threads = [threading.Thread(target=caller) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(set(replies)) == [b"ACCESS_BALANCE:5.00", b"TOO_MANY_REQUESTS"]
    assert replies.count(b"ACCESS_BALANCE:5.00") == 10 and len(replies) == 40
    logs = server.stop()
    workers = {line.split()[0] for line in logs.splitlines() if line.startswith("worker=<")}
    assert len(workers) == 2, logs  # both workers answered, one counter
