"""Production mode: outside the embedded run the server refuses to start without a real
SECRET_KEY and explicit ALLOWED_HOSTS; with the documented production environment
`check --deploy` is clean; the protocol endpoints and /healthz still answer plain HTTP."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from tests.subprocess_env import TEST_SECRET_KEY, database_url

ROOT = Path(__file__).resolve().parents[1]

# docs/operations.md, "Production environment" (the values a deployment sets).
DOCUMENTED_PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": TEST_SECRET_KEY,
    "ALLOWED_HOSTS": "api.example.com,admin.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://admin.example.com",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "METRICS_TOKEN": "metrics-token-for-the-tests-0000",
}


def clean_env(**values: str) -> dict[str, str]:
    """The process environment without any setting of ours, plus `values`."""
    ours = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "EMBEDDED",
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "UPSTREAM_ALLOW_PRIVATE_URLS",
        "METRICS_TOKEN",
        "DJANGO_SETTINGS_MODULE",
    }
    env = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith(("SECURE_", "CSRF_", "SESSION_"))}
    return {**env, "DJANGO_SETTINGS_MODULE": "reseller.settings", **values}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def production():
    """The documented production environment on the test database (nothing connects in `check`)."""
    return {**DOCUMENTED_PRODUCTION_ENV, "DATABASE_URL": database_url()}


@pytest.mark.parametrize(
    ("change", "variable", "words"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY", "is not set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY", "is not set"),
        ({"SECRET_KEY": "change-me"}, "SECRET_KEY", "is too weak"),
        ({"SECRET_KEY": "insecure-embedded-default-change-me"}, "SECRET_KEY", "is too weak"),
        ({"SECRET_KEY": "a" * 60}, "SECRET_KEY", "is too weak"),
        ({"SECRET_KEY": "django-insecure-" + TEST_SECRET_KEY}, "SECRET_KEY", "is too weak"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS", "is not set"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS", "must not be '*'"),
        ({"ALLOWED_HOSTS": "api.example.com,*"}, "ALLOWED_HOSTS", "must not be '*'"),
    ],
)
def test_production_refuses_to_start_without_secret_key_and_allowed_hosts(production, change, variable, words):
    values = {**production, **change}
    done = manage(clean_env(**{k: v for k, v in values.items() if v is not None}), "check")
    assert done.returncode != 0
    assert done.stderr.startswith(f"ImproperlyConfigured: {variable} {words}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one line, no traceback


def test_check_deploy_warns_without_a_metrics_token(production):
    done = manage(clean_env(**{**production, "METRICS_TOKEN": ""}), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    assert "(reseller.W001) METRICS_TOKEN is not set" in done.stderr + done.stdout


def test_documented_production_environment_passes_check_deploy(production):
    done = manage(clean_env(**production), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout
    shown = manage(
        clean_env(**production),
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER, s.UPSTREAM_ALLOW_PRIVATE_URLS, s.EMBEDDED)",
    )
    assert shown.stdout.strip().splitlines()[-1] == (
        "True 31536000 True True True True ('HTTP_X_FORWARDED_PROTO', 'https') False False"
    ), shown.stdout + shown.stderr


def test_security_settings_come_from_the_environment(production):
    values = {
        **production,
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "3600",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0",
        "SECURE_HSTS_PRELOAD": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "UPSTREAM_ALLOW_PRIVATE_URLS": "1",
    }
    values.pop("SECURE_PROXY_SSL_HEADER")
    shown = manage(
        clean_env(**values),
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "getattr(s, 'SECURE_PROXY_SSL_HEADER', None), s.UPSTREAM_ALLOW_PRIVATE_URLS)",
    )
    assert shown.stdout.strip().splitlines()[-1] == "False 3600 False False False False None True", (
        shown.stdout + shown.stderr
    )


def test_embedded_run_needs_nothing_and_is_not_production(tmp_path):
    """The embedded run is the SQLite database (`make run`): no variables needed."""
    sqlite = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done = manage(clean_env(**sqlite), "check")
    assert done.returncode == 0, done.stderr
    done = manage(clean_env(), "shell", "-c", "from django.conf import settings as s; print(s.EMBEDDED)")
    assert done.stdout.strip().splitlines()[-1] == "True", done.stderr  # no DATABASE_URL at all: the default SQLite
    # EMBEDDED=0 makes even a SQLite database production.
    done = manage(clean_env(**sqlite, EMBEDDED="0"), "check")
    assert done.returncode != 0 and done.stderr.startswith("ImproperlyConfigured: SECRET_KEY is not set"), done.stderr
    # EMBEDDED=1 (scripts/run.sh exports it) keeps `make run` working on PostgreSQL too.
    done = manage(clean_env(DATABASE_URL=database_url(), EMBEDDED="1"), "check")
    assert done.returncode == 0, done.stderr


def test_gunicorn_is_never_the_embedded_run(tmp_path):
    """gunicorn.conf.py: production serving refuses the insecure defaults even on SQLite."""
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", GUNICORN_BIND="127.0.0.1:0", WEB_CONCURRENCY="1"
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--preload", "reseller.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
    assert server.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in stderr, stderr[-2000:]


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_ssl_redirect_spares_the_protocol_endpoints_and_healthz(client, customer_with_key):
    """Customers' software may call http://: the four endpoints answer 200 with their tokens."""
    _, key = customer_with_key(balance="5")
    assert client.get("/admin/login/").status_code == 301  # the admin goes to https
    assert client.get("/admin/login/")["Location"].startswith("https://")
    answer = client.get("/stubs/handler_api.php", {"api_key": key, "action": "getBalance"})
    assert (answer.status_code, answer.content) == (200, b"ACCESS_BALANCE:5.00")
    for path in ("/stubs/cheap_handler.php", "/stubs/rental-handler.php", "/stubs/email_handler.php"):
        answer = client.get(path, {"api_key": key, "action": "getBalance"})
        assert answer.status_code == 200, path
    assert client.get("/healthz").status_code == 200
    assert client.get("/stubs/handler_api.php.bak").status_code == 301  # only those paths


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_a_tls_proxy_the_admin_is_served_with_hsts(client, settings):
    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
