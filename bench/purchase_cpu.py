#!/usr/bin/env python
"""CPU and SQL of one purchase, single-threaded, with nothing else competing.

getNumber through Django's full request path (middleware, the protocol view, the engine), in this
process, against a fake SMS-Activate upstream answering at once from a process of its own
(bench/fake_upstream.py). Counts every statement this thread sends (a Django execute wrapper:
SAVEPOINT and RELEASE are statements too; transactions are counted apart, each one's BEGIN and
COMMIT two more statements) and this process's CPU (time.process_time)
over --purchases purchases after a warm-up, and prints both per purchase, with the statements
of the last purchase.

    .venv/bin/python bench/purchase_cpu.py --purchases 500
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, bench_env, fresh_database, shell  # noqa: E402
from purchases import SETUP, FakeProcess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", help="write cProfile stats of the measured loop to this file")
    args = parser.parse_args()
    fake = FakeProcess(["tg:22:2.00:0"])
    try:
        env = bench_env(0, DB_POOL_MAX_SIZE="4")
        fresh_database(env)
        keys = json.loads(shell(env, SETUP.format(urls=fake.urls, customers=1)))["many"]
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connection
        from django.test import Client

        client = Client(HTTP_HOST="127.0.0.1")
        url = f"/stubs/handler_api.php?action=getNumber&service=tg&country=22&api_key={keys[0]}"
        statements: list[str] = []
        commits = [0]
        from django.db import connections

        wrapper = type(connections["default"])
        plain_commit = wrapper._commit

        def counted_commit(self):  # a transaction's COMMIT (its BEGIN is implicit in psycopg)
            commits[0] += 1
            return plain_commit(self)

        wrapper._commit = counted_commit

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        def buy() -> None:
            with connection.execute_wrapper(count):
                body = client.get(url).content
            assert body.startswith(b"ACCESS_NUMBER:"), body

        for _ in range(args.warmup):
            buy()
        statements.clear()
        commits[0] = 0
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
            profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.purchases):
            last = len(statements)
            buy()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        n = args.purchases
        print(f"\n{n} purchases, one thread: {cpu * 1000 / n:.2f} ms CPU and {wall * 1000 / n:.2f} ms wall each")
        print(
            f"statements per purchase: {len(statements) / n:.2f}, plus {commits[0] / n:.2f} transactions "
            f"(BEGIN ... COMMIT: 2 statements more each); the last purchase's statements:"
        )
        for sql in statements[last:]:
            print("   ", " ".join(sql.split())[:150])
    finally:
        fake.close()


if __name__ == "__main__":
    main()
