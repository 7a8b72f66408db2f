#!/usr/bin/env bash
# The embedded run: SQLite, tasks in-process, demo data. See README.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh requirements.txt
export DATABASE_URL="${DATABASE_URL:-sqlite:///$(pwd)/var/db.sqlite3}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-memory://}"
export EMBEDDED="${EMBEDDED:-1}"  # also with a PostgreSQL DATABASE_URL: no production checks here
PORT="${PORT:-8000}"  # the port to serve on (README)
python manage.py migrate --noinput -v 0
python manage.py collectstatic --noinput -v 0
# The banner (admin password, API key, examples) is printed by the server once it listens.
python manage.py demo_setup --base-url "http://127.0.0.1:${PORT}" --banner-file var/demo-banner.txt
exec python manage.py serve --nostatic --banner var/demo-banner.txt "0.0.0.0:${PORT}"
