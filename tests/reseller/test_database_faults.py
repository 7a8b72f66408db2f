"""The database refusing connections, hanging, and coming back, under real gunicorn
(`gunicorn.conf.py`, the production settings) with PostgreSQL behind a loopback proxy
(`tests/fakes/tcp_proxy.py`), in both connection modes: persistent connections and the
psycopg pool (`DB_POOL_MAX_SIZE`).

While the database refuses, every endpoint answers its generic protocol error and
/healthz 503, each within 2 s, with no traceback; once it is back the very next requests
succeed (no ERROR_SQL from a stale connection)."""

import time
import urllib.request

import pytest
from django.db import connection

from tests.fakes.tcp_proxy import TcpProxy
from tests.live.gunicorn import gunicorn_server
from tests.subprocess_env import database_url

pytestmark = pytest.mark.django_db(transaction=True)
FAST = 2.0  # the bound for an answer while the database refuses
HANG_BOUND = 5.0  # a stuck server: bounded by connect_timeout (2 s), never the 30 s of the old pool
MODES = {
    "persistent": {"GUNICORN_THREADS": "1"},
    "pool": {"GUNICORN_THREADS": "4", "DB_POOL_MAX_SIZE": "4", "DB_POOL_MIN_SIZE": "2"},
}
# Each endpoint's generic error (docs/protocol.md, "Errors common to every action").
GENERIC = {
    "handler_api.php": "ERROR_SQL",
    "cheap_handler.php": "DATABASE_ERROR",
    "rental-handler.php": '{"status":"500","message":"Database error: internal error"}',
    "email_handler.php": '{"status":"500","message":"Database error"}',
}


class Server:
    def __init__(self, base: str, key: str):
        self.base, self.key = base, key

    def get(self, path: str, timeout: float = 40.0) -> tuple[int, str, float]:
        """(status, body, seconds) of one GET; an HTTP error status is a result, not an exception."""
        started = time.monotonic()
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode()
        return status, body, time.monotonic() - started

    def balance(self, endpoint: str = "handler_api.php") -> tuple[int, str, float]:
        return self.get(f"/stubs/{endpoint}?api_key={self.key}&action=getBalance")

    def healthz(self) -> tuple[int, str, float]:
        return self.get("/healthz")


@pytest.fixture
def db_proxy():
    db = connection.settings_dict
    with TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)) as proxy:
        yield proxy


@pytest.fixture(params=sorted(MODES))
def server(request, db_proxy, customer_with_key):
    _, key = customer_with_key(balance="12.50")  # committed (transaction=True): gunicorn sees it
    db = connection.settings_dict
    try:
        with gunicorn_server(
            DATABASE_URL=database_url().replace(f"@{db['HOST']}:{db['PORT']}/", f"@127.0.0.1:{db_proxy.port}/"),
            WEB_CONCURRENCY="1",  # one worker: its connections are certainly the ones the outage cut
            **MODES[request.param],
        ) as live:
            srv = Server(live.url, key)
            srv.log_path = live.log_path
            yield srv
    finally:
        _wait_for_other_sessions_to_end()


def _wait_for_other_sessions_to_end(timeout: float = 10.0) -> None:
    """The server's backends end a moment after it does; the test database is dropped after the test."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


def assert_serving(srv: Server, rounds: int = 10) -> None:
    for _ in range(rounds):
        status, body, _ = srv.balance()
        assert (status, body) == (200, "ACCESS_BALANCE:12.50")
        status, body, _ = srv.healthz()
        assert (status, body) == (200, "ok")


def recover(srv: Server, grace: float = 1.5) -> None:
    """After restore(): at most `grace` seconds for the first success, then every request succeeds."""
    deadline = time.monotonic() + grace
    while srv.balance()[1] != "ACCESS_BALANCE:12.50":
        assert time.monotonic() < deadline, "no success within the grace after the database came back"
        time.sleep(0.1)
    assert_serving(srv, rounds=20)


def test_refused_database_fails_fast_and_heals(server, db_proxy):
    assert_serving(server, rounds=3)

    # A blip between two requests: the idle connections are dead, the next request must not see it.
    db_proxy.refuse()
    time.sleep(0.3)
    db_proxy.restore()
    assert_serving(server, rounds=10)

    # An outage: every endpoint answers its generic error, /healthz 503, each within 2 s.
    db_proxy.refuse()
    for _ in range(3):
        for endpoint, generic in GENERIC.items():
            status, body, seconds = server.balance(endpoint)
            assert (status, body) == (200, generic), endpoint
            assert seconds < FAST, f"{endpoint} took {seconds:.2f} s"
        status, body, seconds = server.healthz()
        assert (status, body) == (503, "unavailable")
        assert seconds < FAST, f"/healthz took {seconds:.2f} s"

    db_proxy.restore()
    recover(server)

    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert "database error on handler_api: OperationalError" in log  # one line per failed request instead


def test_hanging_database_is_bounded_and_heals(server, db_proxy):
    assert_serving(server, rounds=3)
    db_proxy.hang()  # accepts connections, never answers
    for _ in range(2):
        status, body, seconds = server.balance()
        assert (status, body) == (200, "ERROR_SQL")
        assert seconds < HANG_BOUND, f"getBalance took {seconds:.2f} s"
        status, _, seconds = server.healthz()
        assert status == 503
        assert seconds < HANG_BOUND, f"/healthz took {seconds:.2f} s"
    db_proxy.restore()
    recover(server, grace=3.0)  # a pool connect attempt begun during the hang may still be running
    assert "Traceback" not in server.log_path.read_text()


def test_every_connection_has_the_fail_fast_options():
    """What bounds a stuck server: the connect timeout, keepalives, tcp_user_timeout (libpq options)."""
    connection.ensure_connection()
    params = connection.connection.info.get_parameters()
    assert params["connect_timeout"] == "2"
    assert (params["keepalives"], params["keepalives_idle"], params["keepalives_interval"]) == ("1", "5", "2")
    assert (params["keepalives_count"], params["tcp_user_timeout"]) == ("3", "10000")
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
