"""The API's abuse limits (issue 7): per-key and per-IP rates, unknown keys answered without a
query, the per-IP lockout after too many unknown keys, the reply when limited (golden bytes per
endpoint), the client IP behind proxies, and failing open when the counters' Redis is down.

The suite's settings switch the limits off; the `abuse_limits` fixture switches them on, with the
counters in this checkout's test Redis database (reset before and after each test)."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.keys import generate_api_key
from reseller.client_ip import client_ip
from reseller.protocol import throttle
from tests.fakes.tcp_proxy import TcpProxy
from tests.reseller.protocol.test_wire_golden import CONTENT_TYPES, PATHS, golden

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
HANDLER = PATHS["handler_api"]
OFF = {
    "RATE_LIMIT_PER_KEY": "",
    "RATE_LIMIT_PER_IP": "",
    "RATE_LIMIT_BAD_KEYS_PER_IP": "",
    "UNKNOWN_KEY_CACHE_SECONDS": 0,
}


@pytest.fixture
def abuse_limits(settings):
    """Every limit off; a test sets the ones it exercises on `settings`."""
    for name, value in OFF.items():
        setattr(settings, name, value)
    throttle.reset()
    yield settings
    throttle.reset()


def balance(client, key, ip="127.0.0.1", path=HANDLER):
    return client.get(path, {"api_key": key, "action": "getBalance"}, REMOTE_ADDR=ip).content


# --- rates ----------------------------------------------------------------------------


def test_per_key_limit(client, abuse_limits, customer_with_key):
    abuse_limits.RATE_LIMIT_PER_KEY = "5/minute"
    _, key = customer_with_key(balance="1.00")
    _, other = customer_with_key(balance="2.00")
    # From several IPs: the limit follows the key.
    replies = [balance(client, key, ip=f"127.0.0.{n % 3 + 1}") for n in range(8)]
    assert replies == [b"ACCESS_BALANCE:1.00"] * 5 + [b"TOO_MANY_REQUESTS"] * 3
    assert balance(client, other) == b"ACCESS_BALANCE:2.00"  # another key is not affected


def test_per_ip_limit(client, abuse_limits, customer_with_key):
    abuse_limits.RATE_LIMIT_PER_IP = "5/minute"
    keys = [customer_with_key(balance="1.00")[1] for _ in range(3)]
    replies = [balance(client, keys[n % 3], ip="127.0.0.7") for n in range(7)]
    assert replies == [b"ACCESS_BALANCE:1.00"] * 5 + [b"TOO_MANY_REQUESTS"] * 2
    assert balance(client, keys[0], ip="127.0.0.8") == b"ACCESS_BALANCE:1.00"


def test_limited_call_costs_no_query(client, abuse_limits, customer_with_key):
    abuse_limits.RATE_LIMIT_PER_KEY = "1/minute"
    _, key = customer_with_key(balance="1.00")
    balance(client, key)
    with CaptureQueriesContext(connection) as queries:
        assert balance(client, key) == b"TOO_MANY_REQUESTS"
    assert len(queries) == 0


def test_ipv6_is_counted_per_64(client, abuse_limits, customer_with_key):
    abuse_limits.RATE_LIMIT_PER_IP = "2/minute"
    _, key = customer_with_key(balance="1.00")
    assert balance(client, key, ip="2001:db8:0:1::1") == b"ACCESS_BALANCE:1.00"
    assert balance(client, key, ip="2001:db8:0:1:ffff::2") == b"ACCESS_BALANCE:1.00"
    assert balance(client, key, ip="2001:db8:0:1::3") == b"TOO_MANY_REQUESTS"  # same /64
    assert balance(client, key, ip="2001:db8:0:2::1") == b"ACCESS_BALANCE:1.00"


@pytest.mark.parametrize("method", ["get", "post_form", "post_query"])
@pytest.mark.parametrize("endpoint", PATHS)
def test_limited_reply_golden(client, abuse_limits, customer_with_key, endpoint, method):
    from tests.reseller.protocol.test_wire_golden import call

    abuse_limits.RATE_LIMIT_PER_KEY = "1/minute"
    _, key = customer_with_key(balance="1.00")
    call(client, endpoint, method, {"api_key": key, "action": "getBalance"})
    response = call(client, endpoint, method, {"api_key": key, "action": "getBalance"})
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPES[endpoint]
    assert response.content == golden(endpoint, "too_many_requests")


# --- unknown keys -----------------------------------------------------------------------


def test_repeated_unknown_key_costs_one_query(client, abuse_limits, customer_with_key):
    abuse_limits.UNKNOWN_KEY_CACHE_SECONDS = 60
    customer_with_key(balance="1.00")
    bad = generate_api_key()
    with CaptureQueriesContext(connection) as queries:
        replies = {balance(client, bad) for _ in range(50)}
    assert replies == {b"BAD_KEY"} and len(queries) == 1


def test_bad_key_flood_locks_the_ip_out_without_queries(client, abuse_limits, customer_with_key):
    abuse_limits.RATE_LIMIT_BAD_KEYS_PER_IP = "20/10minutes"
    abuse_limits.UNKNOWN_KEY_CACHE_SECONDS = 60
    _, good = customer_with_key(balance="5.00")
    with CaptureQueriesContext(connection) as queries:
        replies = [balance(client, generate_api_key(), ip="127.0.0.66") for _ in range(200)]
    assert replies == [b"BAD_KEY"] * 20 + [b"TOO_MANY_REQUESTS"] * 180
    assert len(queries) == 20  # one lookup per wrong key until the lockout, none after

    # The locked-out IP is not even asked for its key (a good one learns nothing either)...
    with CaptureQueriesContext(connection) as queries:
        assert balance(client, good, ip="127.0.0.66") == b"TOO_MANY_REQUESTS"
    assert len(queries) == 0
    # ...while callers from other IPs go on as usual.
    assert balance(client, good, ip="127.0.0.67") == b"ACCESS_BALANCE:5.00"


def test_remembered_unknown_keys_count_towards_the_lockout(client, abuse_limits):
    abuse_limits.RATE_LIMIT_BAD_KEYS_PER_IP = "5/10minutes"
    abuse_limits.UNKNOWN_KEY_CACHE_SECONDS = 60
    bad = generate_api_key()
    with CaptureQueriesContext(connection) as queries:
        replies = [balance(client, bad, ip="127.0.0.70") for _ in range(8)]
    assert replies == [b"BAD_KEY"] * 5 + [b"TOO_MANY_REQUESTS"] * 3 and len(queries) == 1


def test_malformed_keys_do_not_lock_out(client, abuse_limits, customer_with_key):
    """A malformed or missing key can never be right and never reaches the database: not counted."""
    abuse_limits.RATE_LIMIT_BAD_KEYS_PER_IP = "3/10minutes"
    _, good = customer_with_key(balance="5.00")
    for bad in ["", "short", "x" * 33, "é" * 32] * 5:
        assert balance(client, bad, ip="127.0.0.71") == b"BAD_KEY"
    assert client.get(HANDLER, {"action": "getBalance"}, REMOTE_ADDR="127.0.0.71").content == b"BAD_KEY"
    assert balance(client, good, ip="127.0.0.71") == b"ACCESS_BALANCE:5.00"


def test_lockout_ends_with_its_window(client, abuse_limits, customer_with_key):
    abuse_limits.RATE_LIMIT_BAD_KEYS_PER_IP = "3/1second"
    _, good = customer_with_key(balance="5.00")
    for _ in range(3):
        assert balance(client, generate_api_key(), ip="127.0.0.72") == b"BAD_KEY"
    assert balance(client, good, ip="127.0.0.72") == b"TOO_MANY_REQUESTS"
    deadline = time.monotonic() + 5
    while balance(client, good, ip="127.0.0.72") != b"ACCESS_BALANCE:5.00":
        assert time.monotonic() < deadline, "the lockout did not end with its 1-second window"
        time.sleep(0.2)


def test_a_blocked_customer_is_not_remembered_as_unknown(client, abuse_limits, customer_with_key):
    from accounts.services import customer_block, customer_unblock

    abuse_limits.UNKNOWN_KEY_CACHE_SECONDS = 60
    customer, key = customer_with_key(balance="5.00")
    customer_block(customer=customer, reason="x")
    assert balance(client, key) == b"ACCOUNT_BLOCKED"
    customer_unblock(customer=customer, reason="x")
    assert balance(client, key) == b"ACCESS_BALANCE:5.00"


def test_a_rotated_away_key_is_refused_at_once(client, abuse_limits, customer_with_key):
    from accounts.services import customer_rotate_key

    abuse_limits.UNKNOWN_KEY_CACHE_SECONDS = 60
    customer, old = customer_with_key(balance="5.00")
    assert balance(client, old) == b"ACCESS_BALANCE:5.00"
    new = customer_rotate_key(customer=customer)
    assert balance(client, old) == b"BAD_KEY"
    assert balance(client, new) == b"ACCESS_BALANCE:5.00"


# --- the client IP -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "127.0.0.9", "127.0.0.1"),  # no proxy configured: the header is the client's own words
        (1, "127.0.0.9", "127.0.0.9"),
        (1, "127.0.0.99, 127.0.0.9", "127.0.0.9"),  # the left entry was written by the client
        (2, "127.0.0.99, 127.0.0.9, 127.0.0.2", "127.0.0.9"),
        (2, "127.0.0.9", "127.0.0.1"),  # shorter than the proxy chain: the peer address
        (1, "not-an-ip", "127.0.0.1"),
        (1, "", "127.0.0.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_limits_follow_the_forwarded_client_behind_a_trusted_proxy(client, abuse_limits, customer_with_key):
    abuse_limits.RATE_LIMIT_PER_IP = "2/minute"
    abuse_limits.TRUSTED_PROXY_COUNT = 1
    _, key = customer_with_key(balance="1.00")

    def via_proxy(client_address):
        return client.get(
            HANDLER,
            {"api_key": key, "action": "getBalance"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=client_address,
        ).content

    assert [via_proxy("127.0.0.11") for _ in range(3)] == [b"ACCESS_BALANCE:1.00"] * 2 + [b"TOO_MANY_REQUESTS"]
    assert via_proxy("127.0.0.12") == b"ACCESS_BALANCE:1.00"
    # A client cannot escape by writing its own X-Forwarded-For entries: only the proxy's counts.
    assert via_proxy("127.0.0.200, 127.0.0.11") == b"TOO_MANY_REQUESTS"


# --- failing open ---------------------------------------------------------------------------


@pytest.fixture
def redis_proxy(abuse_limits):
    target = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    direct = abuse_limits.RATE_LIMIT_STORAGE_URL
    with TcpProxy(target.hostname, target.port or 6379) as proxy:
        abuse_limits.RATE_LIMIT_STORAGE_URL = f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}"
        yield proxy
        abuse_limits.RATE_LIMIT_STORAGE_URL = direct


def test_fails_open_when_redis_refuses_or_hangs(
    client, abuse_limits, redis_proxy, customer_with_key, caplog, monkeypatch
):
    abuse_limits.RATE_LIMIT_PER_KEY = "1/minute"
    abuse_limits.RATE_LIMIT_BAD_KEYS_PER_IP = "1/10minutes"
    abuse_limits.UNKNOWN_KEY_CACHE_SECONDS = 60
    _, key = customer_with_key(balance="1.00")
    assert balance(client, key) == b"ACCESS_BALANCE:1.00"
    assert balance(client, key) == b"TOO_MANY_REQUESTS"  # the limits work through the proxy

    redis_proxy.refuse()
    with caplog.at_level("WARNING", logger="reseller.protocol.throttle"):
        assert [balance(client, key) for _ in range(5)] == [b"ACCESS_BALANCE:1.00"] * 5
        assert balance(client, generate_api_key()) == b"BAD_KEY"  # no lockout either: unknown keys are looked up
    # Logged once: after a failure this process leaves the storage alone for OUTAGE_BYPASS_SECONDS.
    assert caplog.text.count("rate-limit storage unavailable") == 1

    monkeypatch.setattr(throttle, "OUTAGE_BYPASS_SECONDS", 0.0)  # now every request tries the stuck storage
    monkeypatch.setattr(throttle._storage, "down_until", 0.0)
    redis_proxy.hang()
    for _ in range(3):
        started = time.monotonic()
        assert balance(client, key) == b"ACCESS_BALANCE:1.00"
        assert time.monotonic() - started < 2.0  # the bound for answers during an outage

    redis_proxy.restore()
    deadline = time.monotonic() + 5
    while balance(client, key) != b"TOO_MANY_REQUESTS":  # back to limiting once Redis answers
        assert time.monotonic() < deadline
        time.sleep(0.1)


# --- production defaults -----------------------------------------------------------------------


@pytest.mark.parametrize("redis_url", ["redis://127.0.0.1:6379/1", ""])
def test_production_defaults_are_on(redis_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RATE_LIMIT_", "UNKNOWN_KEY_", "AXES_"))}
    env.update(DJANGO_SETTINGS_MODULE="reseller.settings", REDIS_URL=redis_url, DATABASE_URL="sqlite:////tmp/unused.db")
    probe = (
        "from django.conf import settings as s; print(s.RATE_LIMIT_PER_KEY, s.RATE_LIMIT_PER_IP,"
        " s.RATE_LIMIT_BAD_KEYS_PER_IP, s.UNKNOWN_KEY_CACHE_SECONDS, s.RATE_LIMIT_STORAGE_URL, s.TRUSTED_PROXY_COUNT,"
        " s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), s.AXES_HANDLER)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    storage = redis_url or "memory://"
    assert out == [
        "50/second",
        "100/second",
        "20/10minutes",
        "60",
        storage,
        "0",
        "5",
        "900",
        "axes.handlers.database.AxesDatabaseHandler",
    ]


def test_a_bad_rate_fails_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reseller.settings", "RATE_LIMIT_PER_KEY": "50/s"}
    result = subprocess.run(
        [sys.executable, "-c", "import django.conf; django.conf.settings.DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "granularity" in result.stderr
