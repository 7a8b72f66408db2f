#!/usr/bin/env python
"""Chaos run: purchases, cancels and SMS over fake upstreams that fail at random, while web
and worker processes are killed and the broker goes away and comes back. Bounded in time,
loopback only. Prints its figures and exits non-zero if the end state is wrong.

The production processes run as in docs/operations.md: gunicorn (gunicorn.conf.py), the
Celery workers of the documented layout and beat, on PostgreSQL (a scratch database), Redis
(`CHAOS_REDIS_URL`, keys under the run's prefix) and RabbitMQ. The broker is reached through
a loopback TCP proxy that the run cuts and restores, so the shared RabbitMQ server itself is
never stopped; the run's queues have a private prefix and are deleted at the end.

What must hold at the end (after a calm period for the sweepers):
- every order is in an ended state and no hold is open;
- every customer's balance is exactly the opening balance minus the prices of the orders
  that got their SMS;
- no upstream number is left live (everything ours was finished or cancelled, every orphan
  cancelled by reconciliation);
- `ledger_verify` is clean.

    .venv/bin/python bench/chaos.py                  # 90 s of chaos, then up to 300 s of calm
    .venv/bin/python bench/chaos.py --seconds 40 --customers 10
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import PY, ROOT, bench_env, fresh_database, shell, wait_up  # noqa: E402

from tests.fakes.server import ANY_ACTION  # noqa: E402
from tests.fakes.sms_activate import FakeSmsActivate  # noqa: E402
from tests.fakes.tcp_proxy import TcpProxy  # noqa: E402

OPENING = "1000.00"
ENDED = {"finished", "cancelled", "expired", "failed", "unknown"}
UPSTREAM_ENDED = {"cancelled", "finished"}

SETUP = """
from decimal import Decimal
from accounts.services import customer_create
from billing.selectors import wallet_of
from billing.services import wallet_topup
from upstream.services import catalogue_sync, provider_add
for slot, url in enumerate({urls!r}, start=1):
    p = provider_add(slot=slot, protocol="smsactivate", url=url, api_key=f"chaos{{slot}}", currency="PKR",
                     config={{"timeout_seconds": 2}})
    catalogue_sync(provider=p)
keys = []
for i in range({customers}):
    c, k = customer_create(username=f"chaos{{i}}")
    wallet_topup(wallet=wallet_of(c), amount="{opening}", key=f"chaos:{{i}}")
    keys.append(k)
print(",".join(keys))
"""

STATE = """
import json
from decimal import Decimal
from django.db.models import Count, Sum
from billing.models import Hold
from billing.selectors import wallet_of
from reseller.models import Activation, UpstreamOrphan
from accounts.models import Customer
wrong = []
for c in Customer.objects.filter(username__startswith="chaos"):
    w = wallet_of(c)
    charged = Activation.objects.filter(customer=c, sms_at__isnull=False).aggregate(s=Sum("price"))["s"] or 0
    if w.balance - w.held != Decimal("{opening}") - charged or w.held:
        wrong.append([c.username, str(w.balance), str(w.held), str(charged)])
print(json.dumps({{
    "states": dict(Activation.objects.values_list("state").annotate(n=Count("id")).order_by()),
    "pending": dict(Activation.objects.exclude(upstream_pending="").values_list("upstream_pending")
                    .annotate(n=Count("id")).order_by()),
    "open_holds": Hold.objects.filter(status="open").count(),
    "orphans": dict(UpstreamOrphan.objects.values_list("outcome").annotate(n=Count("id")).order_by()),
    "wrong_balances": wrong,
}}))
"""


class Processes:
    """gunicorn, the workers and beat, restarted when killed (as a process supervisor would)."""

    def __init__(self, env: dict, workers: list[list[str]]):
        self.env = env
        self.specs = {
            "web": [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py", "reseller.wsgi"],
            "beat": [PY, "-m", "celery", "-A", "reseller", "beat", "--loglevel=WARNING", "-s", self._beat_file()],
            **{
                f"worker{i}": [PY, "-m", "celery", "-A", "reseller", "worker", "--loglevel=WARNING", *args]
                for i, args in enumerate(workers)
            },
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.log = open(ROOT / "var" / "chaos.log", "ab")  # noqa: SIM115 - closed in stop()

    def _beat_file(self) -> str:
        (ROOT / "var").mkdir(exist_ok=True)
        return str(ROOT / "var" / f"chaos-beat-{os.getpid()}")

    def start(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(
            self.specs[name], cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log, start_new_session=True
        )

    def start_all(self) -> None:
        for name in self.specs:
            self.start(name)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def kill_web_worker(self) -> bool:
        """SIGKILL one gunicorn worker (the master starts a new one)."""
        out = subprocess.run(["pgrep", "-P", str(self.procs["web"].pid)], capture_output=True, text=True).stdout
        children = [int(pid) for pid in out.split()]
        if not children:
            return False
        os.kill(random.choice(children), signal.SIGKILL)
        return True

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs[name]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.log.close()


def call(base: str, key: str, **params) -> str | None:
    query = urllib.parse.urlencode({"api_key": key, **params})
    try:
        with urllib.request.urlopen(f"{base}/stubs/handler_api.php?{query}", timeout=40) as response:
            return response.read().decode()
    except (OSError, urllib.error.HTTPError):
        return None  # a killed worker's connection, or the server restarting


def customer_loop(base: str, key: str, until: float, stats: Counter, grace: float, rng: random.Random) -> None:
    while time.monotonic() < until:
        reply = call(base, key, action="getNumber", service="tg", country="22")
        stats[f"getNumber {(reply or 'TRANSPORT ERROR').split(':')[0]}"] += 1
        if not reply or not reply.startswith("ACCESS_NUMBER:"):
            time.sleep(0.5)
            continue
        activation_id = reply.split(":")[1]
        fate = rng.random()
        if fate < 0.5:  # wait for the code, then finish
            for _ in range(40):
                status = call(base, key, action="getStatus", id=activation_id) or ""
                if status.startswith("STATUS_OK") or status == "STATUS_CANCEL":
                    break
                time.sleep(0.5)
            stats[f"finish {call(base, key, action='setStatus', id=activation_id, status=6)}"] += 1
        elif fate < 0.8:  # cancel after the grace
            time.sleep(grace + rng.random())
            stats[f"cancel {call(base, key, action='setStatus', id=activation_id, status=8)}"] += 1
        else:
            stats["walked away"] += 1  # expiry settles it


def upstream_weather(fakes: list[FakeSmsActivate], until: float, stats: Counter, rng: random.Random) -> None:
    """SMS arriving, and upstreams failing at random: HTML and 502 pages, dropped connections,
    answers that come after our timeout (the number is sold: an orphan), refused setStatus."""
    while time.monotonic() < until:
        for fake in fakes:
            for activation in list(fake.activations.values()):
                if activation.status == "waiting" and not activation.sms and rng.random() < 0.15:
                    code = f"{rng.randint(0, 999999):06d}"
                    fake.deliver_sms(activation.id, code, f"Your code is {code}")
                    stats["sms delivered"] += 1
            roll = rng.random()
            if roll < 0.05:
                fake.next_response(ANY_ACTION, "<html><body>502 Bad Gateway</body></html>", status=502)
                stats["upstream 502"] += 1
            elif roll < 0.08:
                fake.next_response("getNumberV2", None)
                stats["upstream dropped a purchase"] += 1
            elif roll < 0.11:
                fake.delay(3, actions=["getNumberV2"])  # past the 2 s timeout: sold, answer lost
                threading.Timer(1.0, fake.delay, args=(0,), kwargs={"actions": ["getNumberV2"]}).start()
                stats["upstream answered too late"] += 1
            elif roll < 0.14:
                fake.next_response("setStatus", "ERROR_SQL")
                stats["upstream refused a setStatus"] += 1
        time.sleep(0.5)


def process_chaos(procs: Processes, proxy: TcpProxy, until: float, stats: Counter, rng: random.Random) -> None:
    while time.monotonic() < until:
        time.sleep(rng.uniform(4, 10))
        if time.monotonic() >= until:
            break
        roll = rng.random()
        if roll < 0.4:
            stats["web worker killed"] += procs.kill_web_worker()
        elif roll < 0.75:
            name = rng.choice([n for n in procs.specs if n.startswith("worker")])
            procs.kill(name)
            stats["celery worker killed"] += 1
            time.sleep(rng.uniform(1, 3))
            procs.start(name)
        else:
            outage = rng.uniform(5, 15)
            proxy.refuse()
            stats["broker outages"] += 1
            stats["broker seconds down"] += round(outage)
            time.sleep(outage)
            proxy.restore()


def live_upstream(fakes: list[FakeSmsActivate]) -> list[str]:
    return [
        f"{slot}:{a.id}"
        for slot, fake in enumerate(fakes, start=1)
        for a in fake.activations.values()
        if a.status not in UPSTREAM_ENDED
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=90, help="length of the chaos period")
    # A message lost in an outage is sent again once its queued mark expires (reconcile: 300 s).
    parser.add_argument("--calm", type=int, default=420, help="at most this long for the sweepers afterwards")
    parser.add_argument("--customers", type=int, default=16)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--broker", default=os.environ.get("TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    stats: Counter = Counter()
    broker = urllib.parse.urlsplit(args.broker)
    proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672).start()
    proxied = args.broker.replace(f"{broker.hostname}:{broker.port or 5672}", f"127.0.0.1:{proxy.port}", 1)
    prefix = f"chaos-{uuid.uuid4().hex[:8]}-"
    fakes = [FakeSmsActivate(api_key=f"chaos{slot}", balance="1000000").start() for slot in (1, 2)]
    for fake in fakes:
        fake.set_offer(22, "tg", "10.00", 100000)
    grace = 3
    env = bench_env(
        args.port,
        BENCH_VIEWS="0",
        DATABASE_URL=os.environ.get("CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/reseller_chaos"),
        CELERY_BROKER_URL=proxied,
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_QUEUE_PREFIX=prefix,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECRET_KEY="chaos-" + uuid.uuid4().hex + uuid.uuid4().hex,
        UPSTREAM_ALLOW_PRIVATE_URLS="1",
        WEB_CONCURRENCY="3",
        ACTIVATION_LIFETIME_SECONDS="40",
        CANCEL_GRACE_SECONDS=str(grace),
        UPSTREAM_POLL_SECONDS="2",
        PURCHASE_DEADLINE_SECONDS="8",
        PURCHASE_STUCK_GRACE_SECONDS="10",
        HOLD_SWEEP_INTERVAL_SECONDS="10",
    )
    # As in production: one cache for every process (the queued marks, the limits' counters);
    # the run's keys carry its private prefix.
    env["REDIS_URL"] = os.environ.get("CHAOS_REDIS_URL", "redis://127.0.0.1:6379/8")
    fresh_database(env)
    keys = shell(env, SETUP.format(urls=[f.url for f in fakes], customers=args.customers, opening=OPENING)).split(",")
    procs = Processes(env, worker_layout(prefix))
    base = f"http://127.0.0.1:{args.port}"
    started = time.monotonic()
    try:
        procs.start_all()
        wait_up(f"{base}/healthz", timeout=60)
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=customer_loop, args=(base, key, until, stats, grace, random.Random(i)), daemon=True)
            for i, key in enumerate(keys)
        ]
        threads.append(threading.Thread(target=upstream_weather, args=(fakes, until, stats, rng), daemon=True))
        threads.append(threading.Thread(target=process_chaos, args=(procs, proxy, until, stats, rng), daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 120)
        proxy.restore()
        for fake in fakes:
            fake.calm()  # failures still queued for a rarely used upstream would outlast the chaos
        chaos_end = time.monotonic()
        # Calm: every process up, the sweepers settle the rest.
        for name, proc in procs.procs.items():
            if proc.poll() is not None:
                stats[f"{name} found dead after the chaos"] += 1
                procs.start(name)
        state = settle(env, fakes, args.calm)
        calm_took = time.monotonic() - chaos_end
        verify = subprocess.run([PY, "manage.py", "ledger_verify"], cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        procs.stop()
        delete_queues(proxied.replace(f"127.0.0.1:{proxy.port}", f"{broker.hostname}:{broker.port or 5672}"), prefix)
        proxy.stop()
        for fake in fakes:
            fake.stop()

    live = live_upstream(fakes)
    orphaned = sorted(set(live))
    problems = []
    if set(state["states"]) - ENDED:
        problems.append(f"orders not ended: {state['states']}")
    if state["open_holds"]:
        problems.append(f"{state['open_holds']} holds still open")
    if state["wrong_balances"]:
        problems.append(f"balances not exact: {state['wrong_balances'][:5]}")
    if orphaned:
        problems.append(f"upstream numbers left live: {orphaned[:10]}")
    if verify.returncode != 0:
        problems.append(f"ledger_verify: {verify.stdout[-500:]}")

    print(f"\nchaos {args.seconds} s, {args.customers} customers, 2 fake SMS-Activate upstreams, seed {args.seed}")
    for name, count in sorted(stats.items()):
        print(f"  {name:<44}{count:>8}")
    print(f"orders by state: {state['states']}")
    print(f"still marked for the upstream: {state['pending'] or 'nothing'} (reconcile marks close after a lifetime)")
    print(f"unowned upstream numbers watched by reconciliation: {state['orphans'] or 'none'}")
    print(f"calm period until settled: {calm_took:.0f} s; whole run {time.monotonic() - started:.0f} s")
    print("ledger_verify:", "clean" if verify.returncode == 0 else "VIOLATIONS")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("OK: every order ended, no hold open, balances exact, nothing left live upstream")
    return 0


def worker_layout(prefix: str) -> list[list[str]]:
    """The worker processes docs/operations.md describes: one for `urgent`, one for `forward,slow`."""
    tag = os.getpid()
    return [
        ["-Q", f"{prefix}urgent", "-n", f"chaos-urgent-{tag}@%h", "--concurrency=2"],
        ["-Q", f"{prefix}forward,{prefix}slow", "-n", f"chaos-bulk-{tag}@%h", "--concurrency=4"],
    ]


def settle(env: dict, fakes: list[FakeSmsActivate], calm: int) -> dict:
    """Wait (at most `calm` seconds) until no order is live, no hold open, nothing live upstream."""
    import json

    deadline = time.monotonic() + calm
    while True:
        state = json.loads(shell(env, STATE.format(opening=OPENING)))
        done = not (set(state["states"]) - ENDED) and not state["open_holds"] and not live_upstream(fakes)
        if done or time.monotonic() > deadline:
            return state
        time.sleep(5)


def delete_queues(broker_url: str, prefix: str) -> None:
    """Remove the run's private queues and exchanges from the shared broker, by exact name."""
    from kombu import Connection

    try:
        with Connection(broker_url, connect_timeout=5) as conn:
            for name in ("urgent", "forward", "slow"):
                channel = conn.channel()
                try:
                    channel.queue_delete(f"{prefix}{name}")
                    channel.exchange_delete(f"{prefix}{name}")
                finally:
                    channel.close()
    except Exception as exc:  # noqa: BLE001 - report it; the run's figures stand
        print(f"could not delete the run's queues: {exc!r}")


if __name__ == "__main__":
    sys.exit(main())
