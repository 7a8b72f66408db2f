"""Through PgBouncer in transaction mode (docs/operations.md "Scaling out"): without
DB_TRANSACTION_POOLING the session options (lock and statement timeouts) are refused at connect;
with it the server connects, server-side cursors are off and QuerySet.iterator() and
ledger_verify work. Needs the `pgbouncer` binary (Debian's package); skips without it."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from django.db import connection

from tests.subprocess_env import production_env
from tests.test_production_settings import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

ITERATE = (
    "from django.db import connection; from billing.models import LedgerAccount; "
    "n = sum(1 for _ in LedgerAccount.objects.iterator(chunk_size=1)); "
    "db = connection.settings_dict; "
    "print(db['DISABLE_SERVER_SIDE_CURSORS'], 'options' in db['OPTIONS'], n)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bouncer(tmp_path):
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if not binary:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    db = connection.settings_dict
    port = free_port()
    ini = tmp_path / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {tmp_path / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 4\n"
    )
    (tmp_path / "users.txt").write_text(f'"{db["USER"]}" ""\n')
    tmp_path.chmod(0o755)
    command = [binary, str(ini)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.05)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(10)


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def through(port: int, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    return production_env(DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{port}/{db['NAME']}", **extra)


def test_session_options_are_refused_without_the_setting(bouncer):
    done = manage(through(bouncer), "shell", "-c", ITERATE)
    assert done.returncode != 0
    assert "unsupported startup parameter" in done.stderr, done.stderr


def test_transaction_pooling_connects_and_iterates(bouncer, customer_with_key):
    customer_with_key(balance="10.00")  # a wallet, the system accounts, a transfer: rows to iterate and verify
    env = through(bouncer, DB_TRANSACTION_POOLING="1")
    done = manage(env, "shell", "-c", ITERATE)
    assert done.returncode == 0, done.stderr
    off, options, count = done.stdout.split()[-3:]
    assert (off, options) == ("True", "False") and int(count) >= 2
    done = manage(env, "ledger_verify")
    assert done.returncode == 0, done.stderr + done.stdout
