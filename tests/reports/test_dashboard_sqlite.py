"""The embedded run (SQLite) serves the dashboard and the reconciliation too: their SQL is
portable, and the figures are the same as on PostgreSQL (drift and exposure by hand below)."""

from tests.test_production_settings import clean_env, manage

SCRIPT = """
from datetime import timedelta
from decimal import Decimal
from django.test import Client
from django.utils import timezone
from accounts.models import Customer
from reports.reconcile import reconcile
from upstream.models import Provider, balance_snapshot_record
p = Provider.objects.get(slot=1)  # demo_setup took its first snapshot (catalogue sync) just now
now = timezone.now()
balance_snapshot_record(p, Decimal('100'), now - timedelta(hours=2, microseconds=1))
balance_snapshot_record(p, Decimal('92.5'), now - timedelta(hours=1))
(rec,) = reconcile(since=now - timedelta(hours=3), until=now - timedelta(minutes=30), providers=[p])
(i,) = rec.intervals
print('interval', i.fell, i.charged, i.drift, i.exposure, i.status)
c = Client()
c.force_login(Customer.objects.get(username='admin'))
html = c.get('/admin/', HTTP_HOST='localhost').content.decode()
print('dashboard', 'id="dashboard-providers"' in html, 'upstream balance drift' in html)
r = c.get('/admin/reports/reconciliation/', HTTP_HOST='localhost')
print('reconciliation', r.status_code, '<tr class="drift">' in r.content.decode())
"""


def test_dashboard_and_reconciliation_on_sqlite(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", CELERY_BROKER_URL="memory://", EMBEDDED="1")
    for args in (("migrate", "--noinput", "-v", "0"), ("demo_setup",)):
        done = manage(env, *args)
        assert done.returncode == 0, done.stderr + done.stdout
    done = manage(env, "shell", "-c", SCRIPT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    # The sandbox's balance fell 7.50 PKR (rate 1) with nothing booked and nothing live: a drift.
    assert "interval 7.50 0.00 7.50 0.00 drift" in lines
    assert "dashboard True True" in lines
    assert "reconciliation 200 True" in lines
