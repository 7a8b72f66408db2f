#!/usr/bin/env bash
# Benchmarks: production serving (gunicorn + PostgreSQL). Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh >/dev/null
source scripts/venv.sh requirements-dev.txt
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk); }
python bench/getbalance.py "$@"
python bench/purchases.py
python bench/sync.py
