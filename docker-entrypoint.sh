#!/bin/sh
# Role selector for the single image: web | worker | beat | migrate | <manage.py command ...>
set -e
role="${1:-web}"
[ $# -gt 0 ] && shift
case "$role" in
  web)     exec gunicorn -c gunicorn.conf.py reseller.wsgi "$@" ;;
  worker)  exec celery -A reseller worker --loglevel "${LOG_LEVEL:-INFO}" "$@" ;;
  beat)    exec celery -A reseller beat --loglevel "${LOG_LEVEL:-INFO}" --schedule /tmp/celerybeat-schedule "$@" ;;
  migrate) exec python manage.py migrate --noinput "$@" ;;
  *)       exec python manage.py "$role" "$@" ;;
esac
