"""The deployment examples of docs/operations.md are complete enough to copy: its systemd units pass
`systemd-analyze verify` without a word, and its nginx configuration runs in a real nginx in front of
a recording backend: headers for TRUSTED_PROXY_COUNT and SECURE_PROXY_SSL_HEADER, no api_key or
webhook secret in the access log, the metrics path refused. Each part skips without its program
(Debian: systemd, nginx, openssl)."""

import http.server
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "docs" / "operations.md"
UNITS = {
    "reseller.target",
    "reseller-migrate.service",
    "reseller-web.service",
    "reseller-worker@.service",
    "reseller-beat.service",
}


def files_in_docs() -> dict[str, str]:
    """Every code block of operations.md whose first line is `# /path/of/the/file`, by path."""
    found = {}
    for block in re.findall(r"```(?:ini|nginx|sh)\n(.*?)```", OPERATIONS.read_text(), re.S):
        first = block.splitlines()[0]
        if re.fullmatch(r"# /\S+", first):
            found[first[2:]] = block
    return found


def program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        pytest.skip(f"{name} is not installed")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_systemd_units_verify(tmp_path):
    analyze = program("systemd-analyze")
    docs = files_in_docs()
    units = {path.rsplit("/", 1)[1]: text for path, text in docs.items() if path.startswith("/etc/systemd/system/")}
    assert set(units) == UNITS
    code = tmp_path / "srv"  # where the units run the code from (the entrypoint must exist and be executable)
    code.mkdir()
    shutil.copy2(ROOT / "docker-entrypoint.sh", code / "docker-entrypoint.sh")
    for name, text in units.items():
        (tmp_path / name).write_text(text.replace("/srv/reseller", str(code)))
    names = sorted(name.replace("@.", "@urgent.") for name in units)
    done = subprocess.run(
        [analyze, "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
    worker = units["reseller-worker@.service"]
    assert "ExecStart=/srv/reseller/docker-entrypoint.sh worker-%i" in worker
    for role in ("urgent", "bulk", "webhooks"):  # the template's instances are the entrypoint's roles
        assert f"worker-{role})" in (ROOT / "docker-entrypoint.sh").read_text()
    for name in UNITS - {"reseller.target"}:
        text = units[name]
        assert "EnvironmentFile=/etc/reseller/env" in text and "User=reseller" in text, name
        assert "WorkingDirectory=/srv/reseller" in text, name
        if name != "reseller-migrate.service":
            assert "Requires=reseller-migrate.service" in text and "Restart=always" in text, name
            assert "WantedBy=reseller.target" in text, name
    assert "Type=oneshot" in units["reseller-migrate.service"]


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        Recorder.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        body = b"ACCESS_BALANCE:1.00"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_nginx_example_runs_and_logs_no_secret(tmp_path):
    nginx, openssl = program("nginx"), program("openssl")
    docs = files_in_docs()
    site, proxy = docs["/etc/nginx/conf.d/reseller.conf"], docs["/etc/nginx/reseller-proxy.conf"]
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=api.example.com"]
        + ["-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True,
        capture_output=True,
    )
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    plain, tls = free_port(), free_port()
    # Only what a test box needs changes: ports, file places, no IPv6.
    site = (
        site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{backend.server_port};")
        .replace("listen 80;", f"listen 127.0.0.1:{plain};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls} ssl http2;")
        .replace("/etc/letsencrypt/live/api.example.com/fullchain.pem", str(tmp_path / "cert.pem"))
        .replace("/etc/letsencrypt/live/api.example.com/privkey.pem", str(tmp_path / "key.pem"))
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("/etc/nginx/reseller-proxy.conf", str(tmp_path / "reseller-proxy.conf"))
    )
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    (tmp_path / "reseller.conf").write_text(site)
    (tmp_path / "reseller-proxy.conf").write_text(proxy)
    temp = "".join(
        f"{kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\ndaemon off;\nevents {{}}\n"
        f"http {{\n{temp}include {tmp_path}/reseller.conf;\n}}\n"
    )
    base = [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", tls), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.05)
        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE

        def get(url: str, **headers: str) -> tuple[int, str]:
            request = urllib.request.Request(url, headers={"Host": "api.example.com", **headers})
            try:
                with urllib.request.urlopen(request, timeout=10, context=insecure) as answer:  # noqa: S310
                    return answer.status, answer.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, ""

        api = "/stubs/handler_api.php?api_key=SeCrEtKeY0123456789abcdefghijklm&action=getBalance"
        assert get(f"https://127.0.0.1:{tls}{api}", **{"X-Forwarded-Proto": "http"}) == (200, "ACCESS_BALANCE:1.00")
        assert get(f"http://127.0.0.1:{plain}{api}")[0] == 200  # the endpoints stay on plain HTTP
        assert get(f"http://127.0.0.1:{plain}/upstream/webhook/3/hookSecret99")[0] == 200
        assert get(f"https://127.0.0.1:{tls}/metrics")[0] == 403  # 127.0.0.1 is not the scraper's network
        assert get(f"http://127.0.0.1:{plain}/metrics")[0] == 404
        first = Recorder.seen[0]
        assert first["x-forwarded-proto"] == "https"  # the client's copy overwritten
        assert first["x-forwarded-for"] == "127.0.0.1"  # appended: TRUSTED_PROXY_COUNT=1 reads the last
        assert first["host"] == "api.example.com"
        assert Recorder.seen[1]["x-forwarded-proto"] == "http"
        assert [seen["path"] for seen in Recorder.seen] == [api, api, "/upstream/webhook/3/hookSecret99"]
    finally:
        server.terminate()
        server.wait(10)
        backend.shutdown()
    log = (tmp_path / "reseller.access.log").read_text()
    assert "SeCrEtKeY" not in log and "hookSecret99" not in log, log
    assert '"GET /stubs/handler_api.php HTTP/1.1" 200' in log and "/upstream/webhook/3/*** " in log, log
