"""Metrics of the real processes in prometheus_client's multiprocess mode: two gunicorn workers
answer requests and any one of them, scraped, counts every request of both; a prefork Celery
worker's port counts the tasks its pool children ran and the failures they raised. Both wipe
their multiprocess directory at start and refuse a scrape without the token."""

import os
import socket
import urllib.error
import urllib.request

import pytest

from tests.observability.scrape import TOKEN, parse, value
from tests.reseller.celery_procs import celery_processes, given_broker_url, private_prefix, wait_for
from tests.reseller.test_gunicorn_edges import gunicorn  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)  # the processes must see the rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, token: str | None = TOKEN) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def stale_dir(tmp_path, name: str):
    path = tmp_path / name
    path.mkdir()
    (path / "counter_999999.db").write_bytes(b"left by an earlier run")  # unreadable: must be wiped
    return path


def test_gunicorn_workers_are_counted_together(gunicorn, tmp_path):  # noqa: F811 - the fixture
    directory = stale_dir(tmp_path, "web-metrics")
    server = gunicorn(WEB_CONCURRENCY="2", METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(directory))
    assert not (directory / "counter_999999.db").exists()
    target = "/stubs/handler_api.php?action=getBalance&api_key=no-such-key-0000000000"
    requests = 0
    for _ in range(3):
        # A request sent in halves holds the (sync) worker that accepted it, so the other one must
        # answer the requests in between: both workers count, whatever the kernel's accept order.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as held:
            held.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
            for _ in range(9):
                status, _, body = server.get(target)
                assert (status, body) == (200, b"BAD_KEY")
            held.sendall(b"Connection: close\r\n\r\n")
            answer = b"".join(iter(lambda: held.recv(65536), b""))
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"BAD_KEY"), answer
        requests += 10
    for _ in range(4):  # whichever worker answers the scrape adds up every worker's files
        status, text = fetch(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200, text
        families = parse(text)
        labels = {"endpoint": "handler_api.php", "action": "getBalance", "status": "200"}
        assert value(families, "reseller_http_requests_total", **labels) == requests
        assert value(families, "reseller_http_request_duration_seconds_count", action="getBalance") == requests
    pids = {name.split("_")[-1] for name in os.listdir(directory) if name.startswith("counter_")}
    assert len(pids) == 2, sorted(os.listdir(directory))  # both workers wrote counters
    assert fetch(f"http://127.0.0.1:{server.port}/metrics", token=None)[0] == 404
    assert fetch(f"http://127.0.0.1:{server.port}/metrics", token="wrong-token-0000000000")[0] == 404
    server.stop()


def test_a_prefork_worker_serves_its_children_metrics(tmp_path, monkeypatch):
    broker = given_broker_url()
    # Celery reads CELERY_BROKER_URL (tests/settings.py: memory://) before an app's own broker_url:
    # without this the test's sends would go to an in-process broker nobody reads.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    directory = stale_dir(tmp_path, "worker-metrics")
    port = free_port()
    env = {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(directory), "WORKER_METRICS_PORT": str(port)}
    with celery_processes(broker, private_prefix(), tmp_path, **env) as procs:
        procs.worker("metrics", queues=["urgent", "slow"], concurrency=2)
        url = f"http://127.0.0.1:{port}/metrics"

        def up():
            try:
                return fetch(url)[0] == 200
            except OSError:
                return False

        wait_for(up, 60, f"the worker's metrics port {port}")
        assert not (directory / "counter_999999.db").exists()
        for _ in range(3):
            procs.send("reseller.reconcile_provider", "not-a-provider-id")  # raises in the task: a failure
        for _ in range(4):
            procs.send("reseller.expire_activations")

        def counted():
            families = parse(fetch(url)[1])
            failures = value(families, "reseller_task_failures_total", task="reseller.reconcile_provider")
            runs = value(families, "reseller_task_duration_seconds_count", task="reseller.expire_activations")
            return (failures, runs) == (3, 4) and families

        families = wait_for(counted, 60, "the tasks counted")
        assert value(families, "reseller_task_duration_seconds_count", task="reseller.reconcile_provider") == 3
        assert "reseller_holds_open" not in families  # the database gauges are the web's alone
        assert fetch(url, token=None)[0] == 404
        assert fetch(f"http://127.0.0.1:{port}/other", token=TOKEN)[0] == 404
