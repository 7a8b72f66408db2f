#!/usr/bin/env bash
# The whole suite against real PostgreSQL, Redis and RabbitMQ (started if they are down).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
# Debian's Chromium and its driver for the browser tests (tests/browser), installed when missing
# (as root, or through password-less sudo). If that fails the browser tests skip, or fail under CI.
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root="-"; fi
  if [ "$as_root" != "-" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver"
    $as_root env DEBIAN_FRONTEND=noninteractive sh -c \
      'apt-get update -qq && apt-get install -y -qq chromium chromium-driver' \
      || echo "could not install chromium and chromium-driver: the browser tests skip (fail under CI)" >&2
  else
    echo "chromium/chromedriver missing, no root or sudo to apt-get them: the browser tests skip (fail under CI)" >&2
  fi
fi
# A compose tool to validate compose.yaml (tests/test_compose.py): the `docker compose` plugin, else
# Debian's docker-compose, installed when neither exists (the config check needs no Docker daemon).
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root="-"; fi
  if [ "$as_root" != "-" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing docker-compose"
    $as_root env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -qq && apt-get install -y -qq docker-compose' \
      || echo "could not install docker-compose: the compose checks skip (fail under CI)" >&2
  else
    echo "no compose tool, no root or sudo to apt-get docker-compose: the compose checks skip (fail under CI)" >&2
  fi
fi
source scripts/venv.sh requirements-dev.txt
ruff check .
ruff format --check .
python -m pytest "$@"
