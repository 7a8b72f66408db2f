#!/bin/sh
# Role selector for the single image: web | worker | worker-urgent | worker-bulk | worker-webhooks | beat | migrate
# | <manage.py command ...>. The worker layout is in docs/operations.md.
set -e
role="${1:-web}"
[ $# -gt 0 ] && shift
# Metrics (docs/metrics.md): a Celery worker's pool processes count into files of one directory
# per worker role, emptied by the worker at start (gunicorn.conf.py picks the web's own).
case "$role" in worker*) export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/reseller-prometheus-$role}" ;; esac
case "$role" in
  web)     exec gunicorn -c gunicorn.conf.py reseller.wsgi "$@" ;;
  worker)  exec celery -A reseller worker --loglevel "${LOG_LEVEL:-INFO}" "$@" ;;
  worker-urgent)  # status sync, expiry, hold sweeper: never behind forwarding
           exec celery -A reseller worker -Q "${CELERY_QUEUE_PREFIX:-}urgent" -n "urgent@%h" \
                --concurrency "${URGENT_WORKER_CONCURRENCY:-2}" --loglevel "${LOG_LEVEL:-INFO}" "$@" ;;
  worker-bulk)    # customers' setStatus forwarded upstream, reconciliation, catalogue sync
           exec celery -A reseller worker -Q "${CELERY_QUEUE_PREFIX:-}forward,${CELERY_QUEUE_PREFIX:-}slow" \
                -n "bulk@%h" --concurrency "${BULK_WORKER_CONCURRENCY:-4}" --loglevel "${LOG_LEVEL:-INFO}" "$@" ;;
  worker-webhooks)  # customers' webhooks: a slow customer endpoint waits here, never in the other queues
           exec celery -A reseller worker -Q "${CELERY_QUEUE_PREFIX:-}webhooks" -n "webhooks@%h" \
                --concurrency "${WEBHOOK_WORKER_CONCURRENCY:-4}" --loglevel "${LOG_LEVEL:-INFO}" "$@" ;;
  beat)    exec celery -A reseller beat --loglevel "${LOG_LEVEL:-INFO}" --schedule /tmp/celerybeat-schedule "$@" ;;
  migrate) exec python manage.py migrate --noinput "$@" ;;
  *)       exec python manage.py "$role" "$@" ;;
esac
