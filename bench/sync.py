#!/usr/bin/env python
"""One status-sync cycle at 1,000 and 10,000 live activations per provider (two providers).

In-process, on a scratch PostgreSQL database (`reseller_bench`, recreated): two fake
SMS-Activate upstreams (tests/fakes, real HTTP on loopback) each with N live activations
(made in bulk, `tests/bulk.py`); the newest 10 per provider were never synced and have just
received their SMS. Runs `provider_sync_statuses` once per provider and prints, per
provider: the time of the cycle, its SQL statements, how many activations it checked and
how many of the newest got their code. Prints figures, asserts nothing.

    .venv/bin/python bench/sync.py                    # 1000 and 10000 per provider
    .venv/bin/python bench/sync.py --live 10000 --lift-cap
`--lift-cap` raises http.MAX_BODY_BYTES to 64 MiB (to time an older sync whose active-list
call had the plain 1 MiB cap, which fails above ~2,300 live).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import bench_env, fresh_database  # noqa: E402

NEWEST = 10


def run(live: int, lift_cap: bool) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.services import customer_create
    from billing.selectors import wallet_of
    from billing.services import wallet_topup
    from reseller.activations.sync import provider_sync_statuses
    from reseller.models import Activation
    from tests.bulk import make_live
    from tests.fakes.sms_activate import FakeSmsActivate
    from upstream.providers import http
    from upstream.services import catalogue_sync, provider_add

    if lift_cap:
        http.MAX_BODY_BYTES = 64 * 1024 * 1024
    customer, _ = customer_create(username=f"bench-{live}")
    wallet_topup(wallet=wallet_of(customer), amount=str(2 * live + 100), key=f"bench:{live}")
    results = []
    with FakeSmsActivate(api_key="bench") as one, FakeSmsActivate(api_key="bench") as two:
        providers = []
        for slot, fake in ((1, one), (2, two)):
            fake.set_offer(22, "tg", "0.50", 100)
            provider = provider_add(slot=slot, protocol="smsactivate", url=fake.url, api_key="bench")
            catalogue_sync(provider=provider)
            make_live(customer, provider, fake, live - NEWEST, synced_ago=10)
            newest = make_live(customer, provider, fake, NEWEST, synced_ago=None)
            for row in newest:
                fake.deliver_sms(row.upstream_id, "123456")
            providers.append((provider, [row.pk for row in newest]))
        for provider, newest in providers:
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                try:
                    checked, error = provider_sync_statuses(provider_id=provider.pk), ""
                except Exception as exc:  # noqa: BLE001 - a figure, not a failure
                    checked, error = 0, f"{type(exc).__name__}: {str(exc)[-60:]}"
            seconds = time.perf_counter() - started
            got = Activation.objects.filter(pk__in=newest, state=Activation.State.CODE_RECEIVED).count()
            results.append(
                {
                    "live": live,
                    "slot": provider.slot,
                    "seconds": seconds,
                    "queries": len(queries),
                    "checked": checked,
                    "newest_coded": got,
                    "error": error,
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live", type=int, action="append", help="live activations per provider (repeatable)")
    parser.add_argument("--lift-cap", action="store_true")
    args = parser.parse_args()
    env = bench_env(0)
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")})
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_BROKER_URL"] = "memory://"
    rows = []
    for live in args.live or [1000, 10000]:
        fresh_database(env)
        import django

        django.setup()
        rows += run(live, args.lift_cap)
        from django.db import connection

        connection.close()
    print(f"{'live/provider':>13}{'slot':>6}{'cycle s':>10}{'SQL':>8}{'checked':>9}{'newest coded':>14}  error")
    for r in rows:
        print(
            f"{r['live']:>13}{r['slot']:>6}{r['seconds']:>10.2f}{r['queries']:>8}{r['checked']:>9}"
            f"{str(r['newest_coded']) + '/' + str(NEWEST):>14}  {r['error']}"
        )


if __name__ == "__main__":
    main()
