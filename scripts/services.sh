#!/usr/bin/env bash
# Make sure the local PostgreSQL and Redis the tests use are running.
set -euo pipefail
PGHOST_="${PGHOST_:-127.0.0.1}"

if ! pg_isready -q -h "$PGHOST_" -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST_" -p 5432 && break; sleep 1; done
fi
pg_isready -h "$PGHOST_" -p 5432

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping
