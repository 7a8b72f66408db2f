"""The embedded run's database is SQLite (`make run`): its migrations, the demo data and a second
catalogue sync work there too (the suite runs on PostgreSQL), with no system check warnings."""

from tests.test_production_settings import clean_env, manage

COUNT_OFFERS = (
    "from upstream.models import Offer, RentOffer; from django.db.models import Count; "
    "dupes = RentOffer.objects.values('provider', 'country', 'service', 'hours').annotate(n=Count('id'))"
    ".filter(n__gt=1).count(); "
    "print(Offer.objects.count() > 0, RentOffer.objects.filter(service__isnull=True).count() > 0, dupes)"
)


def test_migrate_demo_and_resync_on_sqlite(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", CELERY_BROKER_URL="memory://", EMBEDDED="1")
    done = manage(env, "migrate", "--noinput", "-v", "0")
    assert done.returncode == 0 and "WARNINGS" not in done.stderr + done.stdout, done.stderr + done.stdout
    done = manage(env, "demo_setup", "--base-url", "http://127.0.0.1:8000")
    assert done.returncode == 0, done.stderr
    assert "rental-handler.php" in done.stdout and "cheap_handler.php" in done.stdout
    done = manage(env, "catalogue_sync")  # again: every offer is updated in place, none doubled
    assert done.returncode == 0, done.stderr + done.stdout
    done = manage(env, "shell", "-c", COUNT_OFFERS)
    assert done.stdout.strip().splitlines()[-1] == "True True 0", done.stderr
