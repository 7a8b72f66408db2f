#!/usr/bin/env bash
# The whole suite against real PostgreSQL, Redis and RabbitMQ (started if they are down).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
# Debian's programs some tests drive, installed when missing (as root, or through password-less sudo)
# in one apt-get run; a test whose program is still missing skips (the browser tests fail under CI):
#   chromium, chromium-driver  the browser tests (tests/browser)
#   docker-compose             validating compose.yaml (tests/test_compose.py), unless `docker compose` exists
#   pgbouncer                  transaction pooling (tests/test_transaction_pooling.py)
#   nginx                      the reverse-proxy example of docs/operations.md (tests/test_operations_examples.py)
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
has chromium && has chromedriver || missing+=(chromium chromium-driver)
docker compose version >/dev/null 2>&1 || has docker-compose || missing+=(docker-compose)
has pgbouncer || missing+=(pgbouncer)
has nginx || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root="-"; fi
  if [ "$as_root" != "-" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}"
    $as_root env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -qq && apt-get install -y -qq ${missing[*]}" \
      || echo "could not install ${missing[*]}: their tests skip (the browser tests fail under CI)" >&2
  else
    echo "${missing[*]} missing, no root or sudo to apt-get them: their tests skip (the browser tests fail under CI)" >&2
  fi
fi
source scripts/venv.sh requirements-dev.txt
ruff check .
ruff format --check .
python -m pytest "$@"
