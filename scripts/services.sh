#!/usr/bin/env bash
# Make sure the PostgreSQL, Redis and RabbitMQ the tests use answer. Their addresses come from
# TEST_DATABASE_URL, TEST_REDIS_URL and TEST_BROKER_URL (defaults: the local servers). A server
# is started only when its URL points at this machine and nothing answers there; RabbitMQ is
# installed first (apt-get, as root) when it is missing. Every wait is bounded.
set -euo pipefail

DB_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/reseller}"
REDIS_URL_="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
BROKER_URL="${TEST_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}"

# host and port of a URL ("HOST PORT"), with the scheme's default port.
host_port() {
  python3 - "$1" <<'EOF'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
default = {"postgres": 5432, "postgresql": 5432, "redis": 6379, "rediss": 6379, "amqp": 5672, "pyamqp": 5672}
print(u.hostname or "127.0.0.1", u.port or default.get(u.scheme, 0))
EOF
}

is_local() { case "$1" in 127.0.0.1|localhost|::1) return 0 ;; *) return 1 ;; esac; }

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {  # name host port seconds
  for _ in $(seq 1 "$4"); do answers "$2" "$3" && return 0; sleep 1; done
  echo "$1 at $2:$3 does not answer after $4 s" >&2
  return 1
}

# --- PostgreSQL ---------------------------------------------------------------------------
read -r PG_HOST PG_PORT < <(host_port "$DB_URL")
if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null && is_local "$PG_HOST"; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 1; done
fi
pg_isready -h "$PG_HOST" -p "$PG_PORT"

# --- Redis ----------------------------------------------------------------------------------
read -r REDIS_HOST REDIS_PORT < <(host_port "$REDIS_URL_")
if ! redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && is_local "$REDIS_HOST"; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping

# --- RabbitMQ (the broker of the real-worker tests) ------------------------------------------
read -r MQ_HOST MQ_PORT < <(host_port "$BROKER_URL")
if ! answers "$MQ_HOST" "$MQ_PORT" && is_local "$MQ_HOST"; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing RabbitMQ"
      apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server
    else
      echo "RabbitMQ is not installed: install rabbitmq-server or set TEST_BROKER_URL" >&2
      exit 1
    fi
  fi
  if ! answers "$MQ_HOST" "$MQ_PORT"; then  # the package may have started it
    echo "starting RabbitMQ"
    RABBITMQ_NODE_PORT="$MQ_PORT" rabbitmq-server -detached
  fi
  wait_for RabbitMQ "$MQ_HOST" "$MQ_PORT" 90
fi
if answers "$MQ_HOST" "$MQ_PORT"; then
  echo "RabbitMQ answers at $MQ_HOST:$MQ_PORT"
else
  echo "RabbitMQ at $MQ_HOST:$MQ_PORT (TEST_BROKER_URL) does not answer" >&2
  exit 1
fi
