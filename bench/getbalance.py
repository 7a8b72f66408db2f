#!/usr/bin/env python
"""getBalance and getStatus vs a bare one-primary-key view, all served the production way.

gunicorn (gunicorn.conf.py, PostgreSQL, DEBUG off) on a scratch database, wrk at 32
connections. The three are measured interleaved: short slices (--slice seconds each) in
rotation, --seconds in all per endpoint, so a drift of the machine (another process, a CPU
that slows) touches all three alike. Prints, per endpoint, requests/s over its slices, the
median of the slices' p50 and p99, and each ratio to the bare view. Target: >= 90 % of the
bare view.

    make bench    # or: .venv/bin/python bench/getbalance.py --seconds 15
"""

import argparse
import os
import statistics
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_env, fresh_database, gunicorn, manage, shell, table, wrk  # noqa: E402


def _summed(parts: list[dict]) -> dict:
    """One endpoint's slices together: requests per second over all of them, median p50 and p99."""
    return {
        "rps": sum(p["rps"] for p in parts) / len(parts),
        "p50": statistics.median(p["p50"] for p in parts),
        "p99": statistics.median(p["p99"] for p in parts),
        "non2xx": sum(p["non2xx"] for p in parts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--slice", type=int, default=1, help="seconds per endpoint per turn")
    args = parser.parse_args()
    env = bench_env(args.port)
    fresh_database(env)
    key = manage(env, "customer_create", "bench", "--balance", "500").split()[-1]
    setup = (
        "from accounts.models import Customer; from reseller.models import Activation; "
        "from upstream.models import *; from django.utils import timezone; "
        "c = Customer.objects.get(username='bench'); "
        "Country.objects.create(id=22, name='India'); s = Service.objects.create(code='tg', name='Telegram'); "
        "p = Provider.objects.create(slot=1, protocol='sandbox'); "
        "a = Activation.objects.create(customer=c, provider=p, service=s, country_id=22, price=10, "
        "state='code_received', code='123456', phone='911234567890', activated_at=timezone.now()); "
        "print(c.pk, a.pk)"
    )
    pk, activation_id = shell(env, setup).split()
    base = f"http://127.0.0.1:{args.port}"
    urls = {
        "bare view (1 pk lookup)": f"{base}/bench/bare?id={pk}",
        "getBalance": f"{base}/stubs/handler_api.php?api_key={key}&action=getBalance",
        "getStatus": f"{base}/stubs/handler_api.php?api_key={key}&action=getStatus&id={activation_id}",
    }
    with gunicorn(env, urls["bare view (1 pk lookup)"]):
        assert urllib.request.urlopen(urls["getBalance"]).read() == b"ACCESS_BALANCE:500.00"
        assert urllib.request.urlopen(urls["getStatus"]).read() == b"STATUS_OK:123456"
        for url in urls.values():  # warm every worker on every endpoint
            wrk(url, seconds=1, connections=args.connections, warmup=False)
        slices: dict[str, list[dict]] = {name: [] for name in urls}
        for turn in range(max(args.seconds // args.slice, 1)):
            order = list(urls.items())
            if turn % 2:
                order.reverse()  # no endpoint always follows the same one
            for name, url in order:
                slices[name].append(wrk(url, seconds=args.slice, connections=args.connections, warmup=False))
        results = {name: _summed(parts) for name, parts in slices.items()}

    workers = os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) * 2 + 1))
    print(
        f"\ngunicorn sync workers={workers}, wrk -c{args.connections}, {args.seconds} s per endpoint "
        f"interleaved in {args.slice} s slices, PostgreSQL"
    )
    print(table(results))
    bare = results["bare view (1 pk lookup)"]["rps"]
    for name in ("getBalance", "getStatus"):
        print(f"{name} / bare = {results[name]['rps'] / bare:.1%} (target >= 90%)")


if __name__ == "__main__":
    main()
