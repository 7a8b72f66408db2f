#!/usr/bin/env python
"""getNumber throughput against a slow upstream, served the production way.

A fake SMS-Activate upstream (tests/fakes, written from the document) answers every
purchase after --latency seconds; gunicorn runs threaded workers on PostgreSQL; wrk
buys at --connections. Purchases are counted in the database afterwards (state
`active`), so only real, recorded purchases count. Prints purchases/s, latency, the
refused/failed share, and upstream calls per purchase. Targets: >= 100/s at 1 s
upstream latency over many wallets; >= 60/s on one hot wallet at 500 ms.

    .venv/bin/python bench/purchases.py                       # both scenarios
    .venv/bin/python bench/purchases.py --scenario hot --seconds 20
"""

import argparse
import sys
import tempfile
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import bench_env, fresh_database, gunicorn, shell, wrk  # noqa: E402

from tests.fakes.sms_activate import FakeSmsActivate  # noqa: E402

LUA = """
local keys = {%s}
request = function()
  local key = keys[math.random(#keys)]
  return wrk.format("GET", "/stubs/handler_api.php?action=getNumber&service=tg&country=22&api_key=" .. key)
end
"""

SETUP = """
from decimal import Decimal
from accounts.services import customer_create
from billing.selectors import wallet_of
from billing.services import wallet_topup
from upstream.services import catalogue_sync, provider_add
p = provider_add(slot=1, protocol="smsactivate", url="{url}", api_key="bench", currency="RUB", rate=Decimal("3.5"),
                 config={{"timeout_seconds": 30}})
catalogue_sync(provider=p)
keys = []
for i in range({customers}):
    c, k = customer_create(username=f"buyer{{i}}")
    wallet_topup(wallet=wallet_of(c), amount="{balance}", key=f"bench:{{i}}")
    keys.append(k)
print(",".join(keys))
"""

COUNT = (
    "from reseller.models import Activation; from django.db.models import Count; "
    "print(dict(Activation.objects.values_list('state').annotate(n=Count('id')).order_by()))"
)


def scenario(
    name: str,
    *,
    latency: float,
    customers: int,
    seconds: int,
    connections: int,
    port: int,
    workers: int,
    threads: int,
    pool: int,
) -> dict:
    with FakeSmsActivate(api_key="bench", balance="1000000000") as fake:
        fake.set_offer(22, "tg", "2.00", 10_000_000)
        env = bench_env(
            port,
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS=str(threads),
            GUNICORN_TIMEOUT="60",
            DB_POOL_MAX_SIZE=str(pool),
        )
        fresh_database(env)
        balance = "1000000" if customers == 1 else "5000"
        keys = shell(env, SETUP.format(url=fake.url, customers=customers, balance=balance)).split(",")
        fake.delay(latency, actions=["getNumber", "getNumberV2"])
        fake.clear_calls()
        base = f"http://127.0.0.1:{port}"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % ",".join(f'"{k}"' for k in keys))
        probe = f"{base}/stubs/handler_api.php?action=getBalance&api_key={keys[0]}"
        with gunicorn(env, probe):
            assert urllib.request.urlopen(probe).read().startswith(b"ACCESS_BALANCE:")
            result = wrk(
                f"{base}/",
                seconds=seconds,
                connections=connections,
                threads=2,
                script=script.name,
                warmup=False,
                timeout="30s",
            )
        states = eval(shell(env, COUNT))  # noqa: S307 - our own dict literal
        calls = Counter(fake.actions())
    bought = states.get("active", 0)
    return {
        "name": name,
        "latency": latency,
        "customers": customers,
        "purchases_per_s": bought / seconds,
        "bought": bought,
        "states": states,
        "wrk": result,
        "upstream_buys_per_purchase": (calls["getNumberV2"] + calls["getNumber"]) / bought if bought else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["many", "hot", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--pool", type=int, default=20, help="DB_POOL_MAX_SIZE per worker process")
    args = parser.parse_args()
    runs = []
    common = {
        "seconds": args.seconds,
        "connections": args.connections,
        "port": args.port,
        "workers": args.workers,
        "threads": args.threads,
        "pool": args.pool,
    }
    if args.scenario in ("many", "both"):
        runs.append(scenario("many wallets, upstream 1 s", latency=1.0, customers=200, **common))
    if args.scenario in ("hot", "both"):
        runs.append(scenario("one hot wallet, upstream 500 ms", latency=0.5, customers=1, **common))

    print(
        f"\ngunicorn gthread workers={args.workers} x threads={args.threads}, pool {args.pool}/worker, "
        f"wrk -c{args.connections} "
        f"-d{args.seconds}s, PostgreSQL; fake SMS-Activate upstream"
    )
    print(f"{'scenario':<34}{'purchases/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'buys/purchase':>15}  states")
    for r in runs:
        print(
            f"{r['name']:<34}{r['purchases_per_s']:>12.1f}{r['wrk']['p50']:>10.0f}{r['wrk']['p99']:>10.0f}"
            f"{r['upstream_buys_per_purchase']:>15.2f}  {r['states']}"
        )
    print(
        "targets: >= 100/s (many wallets, 1 s), >= 60/s (hot wallet, 500 ms); "
        "upstream calls per completed activation: buy + finish = 2, status from the batched polls"
    )


if __name__ == "__main__":
    main()
