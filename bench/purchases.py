#!/usr/bin/env python
"""getNumber throughput against slow upstreams, served the production way.

Two fake SMS-Activate upstreams (tests/fakes, written from the document) run in a process of
their own (bench/fake_upstream.py): slot 1 sells `tg` and answers purchases after 1 s, slot 2
sells `wa` after 500 ms. gunicorn runs threaded workers on PostgreSQL; two wrk processes buy at
the same time, side by side: 200 customers buying `tg` (many wallets, 1 s), and one customer
buying `wa` (one hot wallet, 500 ms). `--sequential` runs them one after the other instead.

Each wrk runs --warmup + --seconds; only purchases completed (activated_at) inside the measured
window of --seconds count. Over that window the script reads the CPU of the gunicorn worker
processes, of the PostgreSQL backends serving the bench database, of the fake upstreams
process and of wrk (/proc), and the
database's committed transactions (pg_stat_database.xact_commit: every statement outside a
transaction is one, a BEGIN ... COMMIT block another), and prints, per scenario: purchases/s,
wrk's p50/p99 (whole run), upstream buys per purchase; and for the window: worker CPU ms and
PostgreSQL CPU ms per purchase, transactions per purchase. (Statements per purchase, exactly:
bench/purchase_cpu.py.) Targets: >= 100/s at 1 s over many wallets; >= 60/s on one hot
wallet at 500 ms; both at once.

    .venv/bin/python bench/purchases.py                    # side by side, 10 s + 3 s warm-up
    .venv/bin/python bench/purchases.py --sequential --seconds 20
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    PY,
    ROOT,
    _ms,
    bench_env,
    children,
    cpu_seconds,
    db_counters,
    fresh_database,
    gunicorn,
    shell,
)

LUA = """
local keys = {%s}
request = function()
  local key = keys[math.random(#keys)]
  return wrk.format("GET", "/stubs/handler_api.php?action=getNumber&service=%s&country=22&api_key=" .. key)
end
"""

SETUP = """
import json
from decimal import Decimal
from accounts.services import customer_create
from billing.selectors import wallet_of
from billing.services import wallet_topup
from upstream.services import catalogue_sync, provider_add
for slot, url in enumerate({urls!r}, start=1):
    p = provider_add(slot=slot, protocol="smsactivate", url=url, api_key="bench", currency="RUB",
                     rate=Decimal("3.5"), config={{"timeout_seconds": 30}})
    catalogue_sync(provider=p)
keys = {{"many": [], "hot": []}}
for i in range({customers}):
    c, k = customer_create(username=f"buyer{{i}}")
    wallet_topup(wallet=wallet_of(c), amount="5000", key=f"bench:{{i}}")
    keys["many"].append(k)
c, k = customer_create(username="hot")
wallet_topup(wallet=wallet_of(c), amount="1000000", key="bench:hot")
keys["hot"].append(k)
print(json.dumps(keys))
"""

COUNT = """
import json
from datetime import datetime, UTC
from reseller.models import Activation
windows = {windows!r}
mine = lambda code: Activation.objects.filter(service__code=code, activated_at__isnull=False)
print(json.dumps({{name: [mine(code).filter(activated_at__gte=datetime.fromtimestamp(t0, UTC),
    activated_at__lt=datetime.fromtimestamp(t1, UTC)).count(), mine(code).count()]
    for name, (code, t0, t1) in windows.items()}}))
"""

SCENARIOS = {
    # name: (label, service, upstream latency s, slot)
    "many": ("many wallets, upstream 1 s", "tg", 1.0),
    "hot": ("one hot wallet, upstream 500 ms", "wa", 0.5),
}
TARGETS = {"many": 100, "hot": 60}


class FakeProcess:
    """bench/fake_upstream.py as a child process, driven through its standard input."""

    def __init__(self, specs: list[str]):
        self.proc = subprocess.Popen(
            [PY, str(ROOT / "bench" / "fake_upstream.py"), *specs],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls = json.loads(self.proc.stdout.readline())

    def ask(self, command: str):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        try:
            self.ask("quit")
        except (OSError, ValueError):
            pass
        self.proc.wait(timeout=10)


def wrk_start(url: str, *, script: str, seconds: int, connections: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", "--timeout=30s", f"-d{seconds}s", "--latency", "-s", script, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def wrk_result(proc: subprocess.Popen) -> dict:
    import re

    out = proc.communicate()[0]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def snapshot(env: dict, workers: list[int], others: dict[str, list[int]]) -> dict:
    db = db_counters(env)
    return {
        "t": time.time(),
        "workers": sum(cpu_seconds(p) for p in workers),
        "others": {name: sum(cpu_seconds(p) for p in pids) for name, pids in others.items()},
        "db": {pid: cpu_seconds(pid) for pid in db["backends"]},
        "commits": db["commits"],
    }


def window(before: dict, after: dict) -> dict:
    db = sum(after["db"].get(pid, cpu) - cpu for pid, cpu in before["db"].items())
    db += sum(cpu for pid, cpu in after["db"].items() if pid not in before["db"])  # new backends, all of theirs
    return {
        "seconds": after["t"] - before["t"],
        "worker_cpu": after["workers"] - before["workers"],
        "db_cpu": db,
        "commits": after["commits"] - before["commits"],
        "others": {name: after["others"][name] - cpu for name, cpu in before["others"].items()},
    }


def run(names: list[str], *, env, base, keys, args, workers, fake_pid) -> dict:
    """Run `names` at the same time; returns the window and each one's wrk result and window times."""
    scripts, procs = {}, {}
    for name in names:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % (",".join(f'"{k}"' for k in keys[name]), SCENARIOS[name][1]))
        scripts[name] = script.name
    for name in names:
        connections = args.many_connections if name == "many" else args.hot_connections
        procs[name] = wrk_start(
            f"{base}/", script=scripts[name], seconds=args.warmup + args.seconds, connections=connections
        )
    others = {"fake upstreams": [fake_pid], "wrk": [p.pid for p in procs.values()]}
    time.sleep(args.warmup)
    before = snapshot(env, workers, others)
    time.sleep(args.seconds)
    after = snapshot(env, workers, others)
    return {
        "window": window(before, after),
        "t0": before["t"],
        "t1": after["t"],
        "wrk": {name: wrk_result(p) for name, p in procs.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", action="store_true", help="one scenario after the other")
    parser.add_argument("--seconds", type=int, default=10, help="the measured window")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--many-connections", type=int, default=160)
    parser.add_argument("--hot-connections", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=60)
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--pool", type=int, default=20, help="DB_POOL_MAX_SIZE per worker process")
    args = parser.parse_args()

    fake = FakeProcess([f"{service}:22:2.00:{latency}" for _, service, latency in SCENARIOS.values()])
    try:
        env = bench_env(
            args.port,
            WEB_CONCURRENCY=str(args.workers),
            GUNICORN_THREADS=str(args.threads),
            GUNICORN_TIMEOUT="60",
            DB_POOL_MAX_SIZE=str(args.pool),
        )
        fresh_database(env)
        keys = json.loads(shell(env, SETUP.format(urls=fake.urls, customers=args.customers)))
        fake.ask("clear")
        base = f"http://127.0.0.1:{args.port}"
        probe = f"{base}/stubs/handler_api.php?action=getBalance&api_key={keys['hot'][0]}"
        groups = [["many"], ["hot"]] if args.sequential else [["many", "hot"]]
        runs = []
        with gunicorn(env, probe) as server:
            assert urllib.request.urlopen(probe).read().startswith(b"ACCESS_BALANCE:")
            workers = children(server.pid)
            for group in groups:
                runs.append(
                    run(group, env=env, base=base, keys=keys, args=args, workers=workers, fake_pid=fake.proc.pid)
                )
                time.sleep(2)  # the last purchases of this group end before the next starts
        windows = {
            name: (SCENARIOS[name][1], r["t0"], r["t1"]) for r in runs for name in r["wrk"]
        }  # fmt: skip
        bought = json.loads(shell(env, COUNT.format(windows=windows)))
        calls = fake.ask("calls")
    finally:
        fake.close()

    mode = "one after the other" if args.sequential else "side by side"
    print(
        f"\ngunicorn gthread workers={args.workers} x threads={args.threads}, pool {args.pool}/worker, PostgreSQL; "
        f"fake SMS-Activate upstreams in their own process; {mode}; wrk -c{args.many_connections} (many) "
        f"-c{args.hot_connections} (hot), {args.warmup} s warm-up + {args.seconds} s measured"
    )
    print(f"{'scenario':<34}{'purchases/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'buys/purchase':>15}")
    for r in runs:
        for name, result in r["wrk"].items():
            n, everything = bought[name]
            slot = list(SCENARIOS).index(name)
            buys = calls[slot].get("getNumber", 0) + calls[slot].get("getNumberV2", 0)
            print(
                f"{SCENARIOS[name][0]:<34}{n / r['window']['seconds']:>12.1f}{result['p50']:>9.0f}"
                f"{result['p99']:>9.0f}{result['non2xx']:>9}{buys / max(everything, 1):>15.2f}"
            )
    for r in runs:
        w, n = r["window"], sum(bought[name][0] for name in r["wrk"])
        names = " + ".join(r["wrk"])
        if n:
            print(
                f"window {names}: {n} purchases in {w['seconds']:.1f} s; per purchase: gunicorn workers "
                f"{w['worker_cpu'] * 1000 / n:.1f} ms CPU, PostgreSQL {w['db_cpu'] * 1000 / n:.1f} ms CPU, "
                f"{w['commits'] / n:.2f} transactions (xact_commit); "
                + ", ".join(f"{name} {cpu * 1000 / n:.1f} ms CPU" for name, cpu in w["others"].items())
            )
    print("targets: >= 100/s (many wallets, 1 s) and >= 60/s (hot wallet, 500 ms), side by side")


if __name__ == "__main__":
    main()
