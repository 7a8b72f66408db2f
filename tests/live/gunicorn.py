"""The production web server in a test: gunicorn with the repository's gunicorn.conf.py,
on a free loopback port, against the test database (so a `transaction=True` test's rows
are visible to it).

    with gunicorn_server(PURCHASE_DEADLINE_SECONDS="20") as server:
        body = urllib.request.urlopen(f"{server.url}/stubs/handler_api.php?...").read()
        server.log()  # what gunicorn wrote to stderr so far
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.subprocess_env import production_env

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def gunicorn_server(**env_extra: str):
    """Serve until the block ends; `env_extra` overrides the environment (tests.subprocess_env)."""
    port = free_port()
    env = production_env(GUNICORN_BIND=f"127.0.0.1:{port}", DEBUG="0", **env_extra)
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as log_file:
        log_path = Path(log_file.name)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "reseller.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log_path.unlink(missing_ok=True)


def _wait_up(server: LiveServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.process.returncode}:\n{server.log()}")
        try:
            urllib.request.urlopen(f"{server.url}/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not come up:\n{server.log()}")
