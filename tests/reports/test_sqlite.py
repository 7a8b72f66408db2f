"""The embedded run (SQLite, docs/decisions.md) runs the rollup task in-process and serves the
report page: the report SQL works on SQLite too, and both sources agree there."""

from tests.test_production_settings import clean_env, manage

BOOK = (
    "from accounts.models import Customer; from billing.selectors import wallet_of; "
    "from billing.services import wallet_adjust; "
    "wallet_adjust(wallet=wallet_of(Customer.objects.get(username='demo')), amount='-2.50', reason='t', key='t1'); "
    "print('ok')"
)
TASK = "from reports.tasks import rollup_days; print(rollup_days.apply(throw=True).get())"


def test_reports_and_the_rollup_on_sqlite(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", CELERY_BROKER_URL="memory://", EMBEDDED="1")
    for args in (("migrate", "--noinput", "-v", "0"), ("demo_setup",), ("shell", "-c", BOOK)):
        done = manage(env, *args)
        assert done.returncode == 0, done.stderr + done.stdout
    done = manage(env, "shell", "-c", TASK)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == "3", done.stderr
    printed = {}
    for source in ("ledger", "rollup", "auto"):
        args = ("--from", "2000-01-01", "--to", "2100-01-01", "--by", "customer", "--format", "csv")
        done = manage(env, "report", *args, "--source", source)
        assert done.returncode == 0, done.stderr
        printed[source] = done.stdout
    demo = [line for line in printed["ledger"].splitlines() if ",demo," in line][0].split(",")
    assert demo[8:10] == ["1000.00", "-2.50"]  # top-ups, corrections
    assert printed["ledger"] == printed["rollup"] == printed["auto"]
    for by in ("day", "week", "month", "kind", "service"):
        done = manage(env, "report", "--from", "2026-01-01", "--to", "2026-03-31", "--by", by, "--source", "ledger")
        assert done.returncode == 0, done.stderr
