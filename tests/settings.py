"""The small test override of reseller.settings: PostgreSQL and Redis by default.

TEST_DATABASE_URL / TEST_REDIS_URL override the defaults (the local services
of the development machine and CI).
"""

import os

os.environ.setdefault(
    "DATABASE_URL", os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/reseller")
)
os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# The suite runs the production settings (PostgreSQL, not the embedded run): they need these.
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "k3Jd9QwX2pLm7ZvB5nRt8YcH4gFs6aWe" * 2)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Every fake upstream listens on loopback; tests of the rule switch it off with override_settings.
os.environ.setdefault("UPSTREAM_ALLOW_PRIVATE_URLS", "1")
# The task system's cache keys (queued marks) are private to this run: a mark left in the test
# Redis by an earlier run never hides this run's work (ids restart with each test database).
os.environ.setdefault("CELERY_QUEUE_PREFIX", f"test-{os.getpid()}-{os.urandom(3).hex()}.")

from reseller.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
SECURE_SSL_REDIRECT = False  # the test client and live_server speak plain HTTP
STATIC_ROOT = None  # nothing collected in tests; whitenoise then serves nothing and stays quiet
# The API's abuse limits are ON by default (reseller/settings.py); off here, since most tests send
# every request from 127.0.0.1 (fuzzing, benchmarks-in-miniature). tests/reseller/protocol/
# test_abuse_limits.py switches them on (`abuse_limits` fixture) and the gunicorn tests run the defaults.
RATE_LIMIT_PER_KEY = RATE_LIMIT_PER_IP = RATE_LIMIT_BAD_KEYS_PER_IP = ""
UNKNOWN_KEY_CACHE_SECONDS = 0
# Provider health written per attempt, so a test reads it right after a purchase; the batched
# writes (the production default) have their own test (tests/upstream/test_health_batching.py).
PROVIDER_HEALTH_FLUSH_SECONDS = 0.0

# Two checkouts on one machine (a developer's tree and a CI clone) must not share a test database.
import hashlib  # noqa: E402

DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": f"test_{DATABASES['default']['NAME']}_{hashlib.sha1(str(BASE_DIR).encode()).hexdigest()[:8]}"  # noqa: F405
}
