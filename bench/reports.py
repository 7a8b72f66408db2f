#!/usr/bin/env python
"""Report times on generated orders, with and without the daily rollup (docs/reports.md).

Creates the scratch database `reseller_bench_reports` (BENCH_REPORTS_DATABASE_URL to change it),
inserts --orders activations spread evenly over the last 365 days straight into the tables with
INSERT ... SELECT generate_series (the order rows, their holds: 80 % captured, 20 % released,
the capture and upstream-cost transfers, a loss on about 1 % of the released ones; 50 customers
buying 3 services each), then prints:
the time of a year's report by month and by service read from the ledger (source=ledger), the
time to rebuild the rollup of the year (report_rollup), and the same reports from the rollup.
The ledger's cached balances are not maintained (nothing here books through the services);
the reports read transfers and holds only.

    .venv/bin/python bench/reports.py                    # 1,000,000 orders (a few minutes)
    .venv/bin/python bench/reports.py --orders 100000
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import bench_env, fresh_database  # noqa: E402

DB = "postgres://postgres@127.0.0.1:5432/reseller_bench_reports"
CUSTOMERS, PROVIDERS, SERVICES, COUNTRIES = 50, 3, 30, 8
# Order g's customer c = g mod 50; each customer buys 3 services ((7c + (g/11) mod 3) mod 30) in one
# country (c mod 8), each service from one provider ((c + service) mod 3), cheap numbers if
# c mod 4 = 0, one order in 5 released: like a reseller's customers, at most 150 rollup rows a day.


def timed(label: str, fn, repeat: int = 3):
    best, result = None, None
    for _ in range(repeat):
        started = time.monotonic()
        result = fn()
        elapsed = time.monotonic() - started
        best = elapsed if best is None else min(best, elapsed)
    print(f"  {label:<52} {best * 1000:10.1f} ms (best of {repeat})")
    return result


def setup():
    """Customers, providers, services, countries and the system accounts, through the services."""
    from accounts.services import customer_create
    from billing.models import LedgerAccount
    from billing.selectors import wallet_of
    from billing.services import provider_float_account, system_account
    from upstream.models import Country, Provider, Service

    customers = [customer_create(username=f"bench-{n}")[0] for n in range(CUSTOMERS)]
    providers = [
        Provider.objects.create(slot=n + 1, protocol="sandbox", name=f"bench {n + 1}") for n in range(PROVIDERS)
    ]
    services = [
        Service.objects.get_or_create(code=f"b{n}", defaults={"name": f"bench {n}"})[0] for n in range(SERVICES)
    ]
    countries = [
        Country.objects.get_or_create(id=900 + n, defaults={"name": f"bench {n}"})[0] for n in range(COUNTRIES)
    ]
    accounts = {kind: system_account(kind).pk for kind in ("revenue", "upstream_cost", "losses")}
    return {
        "cust": [c.pk for c in customers],
        "wallet": [wallet_of(c).pk for c in customers],
        "prov": [p.pk for p in providers],
        "float": [provider_float_account(provider_id=p.pk).pk for p in providers],
        "svc": [s.pk for s in services],
        "ctry": [c.pk for c in countries],
        **accounts,
        "_kinds": LedgerAccount.Kind,
    }


# Per order g: its customer c, service s, provider p, kind, outcome (released: r) and time.
ORDERS = """(SELECT g, c, s, mod(c + s, %(np)s) AS p, r,
         CASE WHEN mod(c, 4) = 0 THEN 'cheap' ELSE 'activation' END AS kind,
         %(start)s + (g - 1) * %(step)s AS at
  FROM (SELECT g, mod(g, %(nc)s) AS c, mod(mod(g, %(nc)s) * 7 + mod(g / 11, 3), %(ns)s) AS s,
               mod(g / %(nc)s, 5) = 0 AS r
        FROM generate_series(%(lo)s, %(hi)s) g) base) o"""

GENERATE = f"""
INSERT INTO reseller_activation (id, kind, customer_id, provider_id, service_id, country_id, state, operator,
    phone, upstream_id, price, cost_pkr, code, sms_text, previous_code, upstream_pending, upstream_attempts,
    failure, created_at)
SELECT g, kind, (%(cust)s::bigint[])[1 + c], (%(prov)s::bigint[])[1 + p], (%(svc)s::bigint[])[1 + s],
       (%(ctry)s::bigint[])[1 + mod(c, %(nco)s)], CASE WHEN r THEN 'cancelled' ELSE 'finished' END, '', '', '',
       10 + mod(g, 7), 7 + mod(g, 5), '', '', '', '', 0, '', at
FROM {ORDERS};

INSERT INTO billing_hold (id, account_id, amount, status, captured_amount, idempotency_key, expires_at, memo,
    order_kind, order_pk, release_reason, created_at, resolved_at)
SELECT g, (%(wallet)s::bigint[])[1 + c], 10 + mod(g, 7), CASE WHEN r THEN 'released' ELSE 'captured' END,
       CASE WHEN r THEN NULL ELSE 10 + mod(g, 7) END, 'bench:hold:' || g, at + interval '20 minutes', '',
       kind, g, CASE WHEN r THEN 'cancelled' ELSE '' END, at, at + interval '2 minutes'
FROM {ORDERS};

INSERT INTO billing_transfer (source_id, destination_id, amount, kind, idempotency_key, hold_id, memo,
    order_kind, order_pk, created_at)
SELECT (%(wallet)s::bigint[])[1 + c], %(revenue)s, 10 + mod(g, 7), 'capture', 'hold:' || g || ':capture', g, '',
       kind, g, at + interval '2 minutes'
FROM {ORDERS} WHERE NOT r
UNION ALL
SELECT (%(float)s::bigint[])[1 + p], %(upstream_cost)s, 7 + mod(g, 5), 'upstream_cost', 'bench:' || g || ':cost',
       NULL, '', kind, g, at + interval '2 minutes'
FROM {ORDERS} WHERE NOT r
UNION ALL
SELECT (%(float)s::bigint[])[1 + p], %(losses)s, 7 + mod(g, 5), 'loss', 'bench:' || g || ':loss',
       NULL, '', kind, g, at + interval '30 minutes'
FROM {ORDERS} WHERE r AND mod(g, 97) = 0;
"""


def generate(ids: dict, orders: int, start, batch: int = 250_000) -> None:
    from django.db import connection, transaction

    params = {k: v for k, v in ids.items() if not k.startswith("_")}
    params |= {"nc": CUSTOMERS, "np": PROVIDERS, "ns": SERVICES, "nco": COUNTRIES, "start": start}
    params["step"] = timedelta(days=365) / orders
    for lo in range(1, orders + 1, batch):
        hi = min(lo + batch - 1, orders)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(GENERATE, {**params, "lo": lo, "hi": hi})
        print(f"  {hi:>9,} orders", flush=True)
    with connection.cursor() as cursor:
        for table in ("reseller_activation", "billing_hold"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {orders})")
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()

    env = bench_env(0)
    env["DATABASE_URL"] = os.environ.get("BENCH_REPORTS_DATABASE_URL", DB)
    print(f"fresh database {env['DATABASE_URL'].rsplit('/', 1)[1]}, migrating ...", flush=True)
    fresh_database(env)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "reseller.settings"
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from reports.figures import day_start, report, tz
    from reports.rollup import rollup_range

    with connection.cursor() as cursor:  # a year from the ledger may take longer than the 30 s of production
        cursor.execute("SELECT set_config('statement_timeout', '0', false)")
    today = timezone.now().astimezone(tz()).date()
    first = today - timedelta(days=365)
    started = time.monotonic()
    print(f"generating {args.orders:,} orders over {first} .. {today} ...", flush=True)
    generate(setup(), args.orders, day_start(first))
    print(f"  generated in {time.monotonic() - started:.1f} s")

    print("a year's report, from the ledger (source=ledger):")
    by_month = timed("by month", lambda: report(date_from=first, date_to=today, by="month", source="ledger"))
    timed("by service", lambda: report(date_from=first, date_to=today, by="service", source="ledger"))
    timed(
        "by service, one month (the last full one)",
        lambda: report(date_from=today - timedelta(days=30), date_to=today, by="service", source="ledger"),
    )
    print("rollup rebuild (report_rollup, every day of the year):")
    timed("rebuild", lambda: rollup_range(first, today), repeat=1)
    from reports.models import DailyFigure

    print(f"  {DailyFigure.objects.count():,} rollup rows (day x kind x service x country x provider x customer)")
    print("the same reports, from the rollup (source=rollup):")
    rolled = timed("by month", lambda: report(date_from=first, date_to=today, by="month", source="rollup"))
    timed("by service", lambda: report(date_from=first, date_to=today, by="service", source="rollup"))
    timed(
        "by service, one month (the last full one)",
        lambda: report(date_from=today - timedelta(days=30), date_to=today, by="service", source="rollup"),
    )
    timed("by month, auto (rollup + today's ledger)", lambda: report(date_from=first, date_to=today, by="month"))
    assert rolled.totals == by_month.totals, "the rollup and the ledger disagree"
    t = rolled.totals
    print(f"totals: {t.orders:,} orders, revenue {t.revenue} PKR, upstream cost {t.upstream_cost}, losses {t.losses}")


if __name__ == "__main__":
    main()
