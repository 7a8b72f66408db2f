"""`make run` (scripts/run.sh) as a newcomer runs it, in a copy of the checkout (its var/ is the
copy's): PORT picks the port, the demo banner comes only once the server accepts connections, and
the README's first example (getNumber, the SMS, setStatus 6) runs as written against it. PORT is
gunicorn's default bind too."""

import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.test_production_settings import clean_env

ROOT = Path(__file__).resolve().parent.parent
BANNER = "=== Demo ready ==="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def checkout_copy(where: Path) -> Path:
    """The checkout without its var/, .git or venv; the venv is this one's, already installed
    (scripts/venv.sh finds its stamp up to date and installs nothing)."""
    shutil.copytree(
        ROOT,
        where,
        ignore=shutil.ignore_patterns(".git", ".venv", "var", "staticfiles", ".env", "__pycache__", "*.sqlite3"),
    )
    (where / ".venv").mkdir()
    (where / ".venv" / "bin").symlink_to(Path(sys.executable).parent)  # not resolved: the venv's bin/
    stamp = "".join(path.read_text() for path in sorted(where.glob("requirements*.txt")))
    (where / ".venv" / ".installed-requirements.txt").write_text(stamp)
    return where


def test_make_run_banner_after_listening_and_the_readme_example(tmp_path):
    checkout, port = checkout_copy(tmp_path / "checkout"), free_port()
    env = clean_env(PORT=str(port), PYTHONUNBUFFERED="1")
    for name in ("DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    server = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    seen = {}  # what held when the banner's first line was read
    ready = threading.Event()

    def read():
        for line in server.stdout:
            lines.append(line)
            if BANNER in line and not ready.is_set():
                seen["accepting"] = accepts(port)
                seen["before"] = "".join(lines)
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(240), "".join(lines)
        assert "before" in seen, f"no banner; the server said:\n{''.join(lines)}"
        assert seen["accepting"], "the banner came before the port accepted connections"
        assert f"Starting development server at http://0.0.0.0:{port}/" in seen["before"]
        for _ in range(100):  # the banner's remaining lines
            if any("credentials kept in" in line for line in lines):
                break
            threading.Event().wait(0.1)
        output = "".join(lines)
        assert output.count(BANNER) == 1
        assert f"admin:       http://127.0.0.1:{port}/admin/  user admin / password " in output

        example = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme_example()],
            cwd=checkout,
            env={**env, "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert example.returncode == 0, example.stderr + example.stdout
        answers = example.stdout.split()
        assert answers[0] == "ACCESS_BALANCE:1000.00", answers
        assert re.fullmatch(r"ACCESS_NUMBER:\d+:\d+", answers[1]), answers
        assert re.fullmatch(r"STATUS_OK:\d+", answers[2]), answers
        assert answers[3:] == ["ACCESS_ACTIVATION", "ACCESS_BALANCE:884.80"], answers
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def readme_example() -> str:
    """The README's first activation example (the block after "Buy a number")."""
    text = (ROOT / "README.md").read_text()
    return text[text.index("Buy a number from the sandbox") :].split("```sh\n", 1)[1].split("```", 1)[0]


def test_gunicorn_binds_port_unless_gunicorn_bind_is_set(monkeypatch):
    monkeypatch.setenv("EMBEDDED", os.environ.get("EMBEDDED", "0"))  # the file sets a default: restored after
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == "0.0.0.0:8000"
    monkeypatch.setenv("PORT", "8123")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == "0.0.0.0:8123"
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9000")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == "127.0.0.1:9000"
