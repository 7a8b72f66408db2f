#!/usr/bin/env bash
# The chaos run (bench/chaos.py): real processes, loopback only, bounded; exits non-zero on a wrong end state.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh >/dev/null
source scripts/venv.sh requirements-dev.txt
python bench/chaos.py "$@"
