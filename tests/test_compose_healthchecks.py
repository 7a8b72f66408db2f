"""compose.yaml's healthcheck commands, run as written against the real processes they check
(no Docker needed): web's Python probe against gunicorn, a worker's `celery inspect ping` against
that role started by docker-entrypoint.sh (RabbitMQ, queues private to the test), beat's
schedule-file age against a real beat. Each also answers "unhealthy" when it should."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.live.gunicorn import gunicorn_server
from tests.reseller.celery_procs import celery_processes, given_broker_url, private_prefix, process_env, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
SERVICES = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]


def check(service: str) -> list[str]:
    """The service's healthcheck as the container runs it (compose turns `$$` into `$`)."""
    test = [part.replace("$$", "$") for part in SERVICES[service]["healthcheck"]["test"]]
    kind, rest = test[0], test[1:]
    return ["sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest


def run(command: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def with_venv(env: dict[str, str]) -> dict[str, str]:
    """`python` and `celery` on PATH first, as in the image."""
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}


def test_web_healthcheck_against_gunicorn():
    with gunicorn_server() as server:
        port = server.url.rsplit(":", 1)[1]
        probe = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in check("web")]
        env = with_venv({**os.environ, "ALLOWED_HOSTS": "localhost,127.0.0.1"})
        done = run(probe, env)
        assert done.returncode == 0, done.stderr
        done = run(probe, {**env, "ALLOWED_HOSTS": "elsewhere.example.com"})  # Django refuses that Host
        assert done.returncode != 0 and "400" in done.stderr


def test_worker_healthcheck_pings_the_entrypoints_worker(tmp_path):
    broker_url = given_broker_url()
    prefix = private_prefix()
    with celery_processes(broker_url, prefix, tmp_path) as procs:
        env = with_venv(process_env(broker_url, prefix, URGENT_WORKER_CONCURRENCY="1"))
        env["HOSTNAME"] = socket.gethostname()  # Docker sets it in a container; the node is urgent@%h
        with open(tmp_path / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [str(ROOT / "docker-entrypoint.sh"), "worker-urgent"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        procs.procs["entrypoint-worker"] = worker
        wait_for(lambda: "ready." in (tmp_path / "worker.log").read_text(), 60, "the urgent worker to start")
        done = run(check("worker-urgent"), env)
        assert done.returncode == 0, done.stderr + done.stdout
        done = run(check("worker-bulk"), env, timeout=60)  # no bulk worker runs: no answer
        assert done.returncode != 0
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        done = run(check("worker-urgent"), env)
        assert done.returncode != 0


def test_beat_healthcheck_reads_the_schedule_file_beat_writes(tmp_path):
    broker_url = given_broker_url()
    probe = [part.replace("/tmp/celerybeat-schedule", str(tmp_path / "celerybeat-schedule")) for part in check("beat")]
    env = with_venv(dict(os.environ))
    assert run(probe, env).returncode != 0  # no beat ran: no file
    with celery_processes(broker_url, private_prefix(), tmp_path) as procs:
        procs.beat()  # its schedule file: tmp_path/celerybeat-schedule (+ the dbm's suffixes)
        wait_for(lambda: list(tmp_path.glob("celerybeat-schedule*")), 60, "beat to write its schedule")
        done = run(probe, env)
        assert done.returncode == 0, done.stderr
    old = time.time() - 301
    for path in tmp_path.glob("celerybeat-schedule*"):
        os.utime(path, (old, old))  # a beat whose loop stopped 5 minutes ago
    assert run(probe, env).returncode != 0
