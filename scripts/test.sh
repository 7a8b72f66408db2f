#!/usr/bin/env bash
# The whole suite against real PostgreSQL, Redis and RabbitMQ (started if they are down).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
source scripts/venv.sh requirements-dev.txt
ruff check .
ruff format --check .
python -m pytest "$@"
