"""METRICS_TOKEN and METRICS_PATH as reseller/settings.py reads them: a weak token or a path that
is not the metrics' own stops the start; the path is exempt from the HTTPS redirect and routed;
the HTTP middleware comes first."""

import subprocess
import sys
from pathlib import Path

from tests.subprocess_env import production_env

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.conf import settings; from django.urls import resolve; "
    "print(settings.MIDDLEWARE[0]); print(settings.SECURE_REDIRECT_EXEMPT[-1]); "
    "print(resolve(settings.METRICS_PATH).url_name)"
)


def settings_of(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=production_env(**env), capture_output=True, text=True, timeout=60
    )


def test_defaults_and_a_path_of_ones_own():
    default = settings_of()
    assert default.returncode == 0, default.stderr
    assert default.stdout.split() == ["reseller.metrics.HttpMetricsMiddleware", "^metrics$", "metrics"]
    custom = settings_of(METRICS_PATH="/internal/prometheus", METRICS_TOKEN="x" * 16)
    assert custom.returncode == 0, custom.stderr
    assert custom.stdout.split()[1:] == ["^internal/prometheus$", "metrics"]


def test_a_weak_token_or_a_borrowed_path_stops_the_start():
    weak = settings_of(METRICS_TOKEN="short")
    assert weak.returncode != 0 and "METRICS_TOKEN must be 16+ characters" in weak.stderr
    for path in ("metrics", "/", "/stubs/handler_api.php", "/admin/metrics", "/healthz"):
        borrowed = settings_of(METRICS_PATH=path)
        assert borrowed.returncode != 0 and "METRICS_PATH" in borrowed.stderr, path
