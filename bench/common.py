"""Shared by the benchmarks: a scratch PostgreSQL database, gunicorn served the
production way, wrk runs and their figures."""

import os
import re
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/reseller_bench"


def bench_env(port: int, **extra: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        "DEBUG": "0",
        "BENCH_VIEWS": "1",
        # Production settings (gunicorn is never the embedded run): a real key, explicit hosts,
        # plain HTTP on loopback, the fake upstream on 127.0.0.1.
        "SECRET_KEY": "bench-secret-key-not-for-production-" + "Qm4Zt8Vw2Kx6Ny1Pb5Hc9Jd3",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "UPSTREAM_ALLOW_PRIVATE_URLS": "1",
        "DJANGO_SETTINGS_MODULE": "reseller.settings",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        # One key from one address at hundreds of calls a second: the API limits stay on (counted in
        # each worker's memory, no REDIS_URL here) but high enough never to refuse.
        "RATE_LIMIT_PER_KEY": "1000000/second",
        "RATE_LIMIT_PER_IP": "1000000/second",
        **extra,
    }
    env.pop("REDIS_URL", None)
    return env


def fresh_database(env: dict) -> None:
    import psycopg

    db_url = env["DATABASE_URL"]
    dbname = db_url.rsplit("/", 1)[1]
    with psycopg.connect(db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    manage(env, "migrate", "--noinput", "-v", "0")


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=True
    ).stdout


def shell(env: dict, code: str) -> str:
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not come up at {url}")


@contextmanager
def gunicorn(env: dict, probe: str):
    server = subprocess.Popen(
        [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py", "reseller.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(probe)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
    script: str | None = None,
    warmup: bool = True,
    timeout: str = "10s",
) -> dict:
    base = ["wrk", f"-t{threads}", f"-c{connections}", f"--timeout={timeout}"]
    if script:
        base += ["-s", script]
    if warmup:
        subprocess.run([*base, "-d2s", url], capture_output=True, check=True)
    out = subprocess.run([*base, f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


def table(results: dict) -> str:
    lines = [f"{'endpoint':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}"]
    for name, r in results.items():
        lines.append(f"{name:<34}{r['rps']:>10.1f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['non2xx']:>9}")
    return "\n".join(lines)


# --- CPU and database counters (Linux /proc, pg_stat_*) ---------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def db_counters(env: dict) -> dict:
    """This database's committed transactions and the backend processes serving it now."""
    import psycopg

    dbname = env["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        commits = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [dbname]).fetchone()[0]
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [dbname])]
    return {"commits": commits, "backends": pids}
