#!/usr/bin/env python
"""Status-sync cycles at 1,000 / 10,000 / 50,000 live activations over three providers.

In-process, on a scratch PostgreSQL database (`reseller_bench`, recreated per size): two fake
SMS-Activate upstreams (an active list: one getActiveActivations per provider per cycle) share
the N live activations, and a third, SMS-Activate-compatible upstream without an active list
(one getStatus per activation, at most 1,000 per cycle) has 1,000 live ones of its own. The
fakes are tests/fakes, over real HTTP on loopback; the rows are made in bulk (`tests/bulk.py`),
bought by 20 customers, 5 of them with a webhook. Three cycles per size, each running
`provider_sync_statuses` once for every provider, as the beat's tasks would:

- idle: no new SMS;
- 1 %: a fresh SMS for 1 % of the live activations (of every provider);
- 10 %: a burst, a fresh SMS for 10 % of those still waiting.

Printed per cycle: the seconds of the active-list providers (the 5 s target: one worker, one
poll cycle, all of them) and of the per-activation one, SQL statements, statements per found
code (over the idle cycle's), rows checked, codes applied of those delivered; at the end
`ledger_verify`. Prints figures, asserts nothing.

    .venv/bin/python bench/sync.py                          # 1000, 10000, 50000
    .venv/bin/python bench/sync.py --live 10000 --profile   # and cProfile of the idle and 10 % cycles
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import bench_env, fresh_database  # noqa: E402

CUSTOMERS = 20
WITH_WEBHOOK = 5
PER_ACTIVATION_LIVE = 1000
CYCLES = (("idle", 0.0), ("1 %", 0.01), ("10 %", 0.10))


def run(live: int, profile: bool) -> list[dict]:
    from django.db import connection

    from accounts.services import customer_create
    from billing.selectors import wallet_of
    from billing.services import wallet_topup
    from billing.verify import ledger_verify
    from reseller.activations.sync import provider_sync_statuses
    from reseller.models import Activation, CustomerWebhook
    from tests.bulk import make_live
    from tests.fakes.sms_activate import FakeSmsActivate
    from tests.fakes.sms_activate_compat import FakeSmsActivateCompat
    from upstream.models import Country, Service
    from upstream.services import catalogue_sync, provider_add

    customers = []
    for i in range(CUSTOMERS):
        customer, _ = customer_create(username=f"bench-{live}-{i}")
        wallet_topup(wallet=wallet_of(customer), amount=str(2 * live + 2000), key=f"bench:{live}:{i}")
        if i < WITH_WEBHOOK:
            CustomerWebhook.objects.create(customer=customer, url=f"https://hooks.example.com/{i}")
        customers.append(customer)

    def fill(provider, fake, count: int) -> None:
        share = -(-count // CUSTOMERS)
        for i, customer in enumerate(customers):
            n = min(share, count - i * share)
            if n > 0:
                make_live(customer, provider, fake, n, synced_ago=10)

    results = []
    with (
        FakeSmsActivate(api_key="bench") as one,
        FakeSmsActivate(api_key="bench") as two,
        FakeSmsActivateCompat(api_key="bench") as three,
    ):
        listed = []
        for slot, fake in ((1, one), (2, two)):
            fake.set_offer(22, "tg", "0.50", 100)
            provider = provider_add(slot=slot, protocol="smsactivate", url=fake.url, api_key="bench", currency="PKR")
            catalogue_sync(provider=provider)
            fill(provider, fake, live // 2)
            listed.append((provider, fake))
        three.set_offer(22, "tg", "0.50", 100)
        compat = provider_add(slot=3, protocol="smsactivate-compat", url=three.url, api_key="bench", currency="PKR")
        Country.objects.get_or_create(id=22, defaults={"name": "India"})
        Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})
        fill(compat, three, PER_ACTIVATION_LIVE)
        everyone = [*listed, (compat, three)]

        idle_sql = None
        for name, share in CYCLES:
            delivered = []
            for provider, fake in everyone:
                waiting = list(
                    Activation.objects.filter(provider=provider, state="active")
                    .order_by("?")
                    .values_list("pk", "upstream_id")[: round(share * (live // 2 if fake is not three else 1000))]
                )
                for pk, upstream_id in waiting:
                    fake.deliver_sms(upstream_id, f"{pk % 1000000:06d}")
                delivered += [pk for pk, _ in waiting]
            profiler = cProfile.Profile() if profile and name != "1 %" else None
            timings = {}
            statements = []
            with connection.execute_wrapper(lambda execute, *a, seen=statements: seen.append(1) or execute(*a)):
                checked = 0
                for provider, _fake in everyone:
                    started = time.perf_counter()
                    if profiler and provider is not compat:
                        profiler.enable()
                    checked += provider_sync_statuses(provider_id=provider.pk)
                    if profiler:
                        profiler.disable()
                    timings[provider.slot] = time.perf_counter() - started
            sql = len(statements)
            if idle_sql is None:
                idle_sql = sql
            got = Activation.objects.filter(pk__in=delivered, state=Activation.State.CODE_RECEIVED).count()
            results.append(
                {
                    "live": live,
                    "cycle": name,
                    "listed_s": timings[1] + timings[2],
                    "per_activation_s": timings[3],
                    "sql": sql,
                    "per_found": (sql - idle_sql) / len(delivered) if delivered else 0.0,
                    "checked": checked,
                    "found": len(delivered),
                    "applied": got,
                }
            )
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
                print(out.getvalue())
        report = ledger_verify()
        results[-1]["ledger"] = "OK" if report.ok else report.render()[:200]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live", type=int, action="append", help="live activations on the active-list providers")
    parser.add_argument("--profile", action="store_true", help="cProfile the idle and 10 %% cycles")
    args = parser.parse_args()
    # Its own scratch database: the other benchmarks' `reseller_bench` may be in use.
    os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/reseller_bench_sync")
    env = bench_env(0)
    keep = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT")
    os.environ.update({key: env[key] for key in (*keep, "UPSTREAM_ALLOW_PRIVATE_URLS")})
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # queued as a worker's would be, not run in the cycle
    rows = []
    for live in args.live or [1000, 10000, 50000]:
        fresh_database(env)
        import django

        django.setup()
        logging.disable(logging.INFO)
        rows += run(live, args.profile)
        from django.db import connection

        connection.close()
    print(
        f"{'live':>7}{'cycle':>6}{'listed s':>10}{'per-act s':>10}{'SQL':>8}{'SQL/found':>10}"
        f"{'checked':>9}{'applied':>13}  ledger"
    )
    for r in rows:
        print(
            f"{r['live']:>7}{r['cycle']:>6}{r['listed_s']:>10.2f}{r['per_activation_s']:>10.2f}{r['sql']:>8}"
            f"{r['per_found']:>10.1f}{r['checked']:>9}{str(r['applied']) + '/' + str(r['found']):>13}"
            f"  {r.get('ledger', '')}"
        )


if __name__ == "__main__":
    main()
