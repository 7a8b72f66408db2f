"""The environment a test gives a real subprocess (manage.py, gunicorn, celery): the production
settings module, not the embedded run, so it needs what production needs (docs/settings.md)."""

import os

from django.db import connection

# Long and varied enough for the production check and `check --deploy` (security.W009).
TEST_SECRET_KEY = "subprocess-test-key-" + "x7Kq2mPz9WbT4vNc8LrY3hJs6GdF1aQe"


def database_url(name: str | None = None) -> str:
    """A URL of the test database (or of database `name` on the same server)."""
    db = connection.settings_dict
    user = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{user}@{db['HOST']}:{db['PORT']}/{name or db['NAME']}"


def production_env(**extra: str) -> dict[str, str]:
    """os.environ plus the required production variables, pointed at the test database.

    Plain HTTP on loopback: no TLS redirect; the fakes and sibling servers listen on
    127.0.0.1, so private upstream URLs are allowed (UPSTREAM_ALLOW_PRIVATE_URLS=1)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reseller.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": "memory://",
        "SECRET_KEY": TEST_SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "UPSTREAM_ALLOW_PRIVATE_URLS": "1",
        **extra,
    }
    for name in ("REDIS_URL", "EMBEDDED"):
        if name not in extra:
            env.pop(name, None)
    return env
