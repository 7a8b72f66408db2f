#!/usr/bin/env python
"""getBalance vs a bare one-primary-key view, both served the production way.

Starts gunicorn (gunicorn.conf.py, PostgreSQL, DEBUG off) on a scratch
database, drives each URL with wrk at 32 connections, and prints requests/s,
p50 and p99 for both and their ratio. Target: getBalance >= 90 % of the bare view.

    make bench            # or: .venv/bin/python bench/getbalance.py --seconds 15
Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/reseller_bench).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def sh(*args, env, capture=False):
    return subprocess.run(args, cwd=ROOT, env=env, check=True, text=True, capture_output=capture)


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not come up at {url}")


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, seconds: int, connections: int) -> dict:
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d2s", url], capture_output=True, check=True)  # warm-up
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    db_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/reseller_bench")
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "BENCH_VIEWS": "1",
        "SECRET_KEY": "bench",
        "DJANGO_SETTINGS_MODULE": "reseller.settings",
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
    }
    env.pop("REDIS_URL", None)
    dbname = db_url.rsplit("/", 1)[1]
    admin_url = db_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    sh(PY, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
    key = sh(PY, "manage.py", "customer_create", "bench", "--balance", "500", env=env, capture=True).stdout.split()[-1]
    pk = sh(
        PY,
        "manage.py",
        "shell",
        "-c",
        "from accounts.models import Customer; print(Customer.objects.get(username='bench').pk)",
        env=env,
        capture=True,
    ).stdout.split()[-1]

    server = subprocess.Popen(
        [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py", "reseller.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(f"{base}/bench/bare?id={pk}")
        urls = {
            "bare view (1 pk lookup)": f"{base}/bench/bare?id={pk}",
            "getBalance": f"{base}/stubs/handler_api.php?api_key={key}&action=getBalance",
        }
        body = urllib.request.urlopen(urls["getBalance"]).read()
        assert body == b"ACCESS_BALANCE:500.00", body
        results = {name: run_wrk(url, args.seconds, args.connections) for name, url in urls.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)

    workers = os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) * 2 + 1))
    print(f"\ngunicorn sync workers={workers}, wrk -c{args.connections} -d{args.seconds}s, PostgreSQL {dbname}")
    print(f"{'endpoint':<26}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for name, r in results.items():
        print(f"{name:<26}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['non2xx']:>9}")
    bare, api = results["bare view (1 pk lookup)"], results["getBalance"]
    ratio = api["rps"] / bare["rps"]
    print(f"getBalance / bare = {ratio:.1%} (target >= 90%)")


if __name__ == "__main__":
    main()
