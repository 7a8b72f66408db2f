"""Settings, read from the environment (see `.env.example` and `docs/settings.md`).

The defaults give the *embedded* run: a SQLite file, Celery tasks executed
in-process, a local-memory cache. Production sets DATABASE_URL (PostgreSQL),
CELERY_BROKER_URL and REDIS_URL (Redis).
"""

from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A `.env` file beside manage.py is read when present; real environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-embedded-default-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "billing",
    "upstream",
    "reseller",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "reseller.urls"
WSGI_APPLICATION = "reseller.wsgi.application"
AUTH_USER_MODEL = "accounts.Customer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db["ENGINE"] = "reseller.dbengine"  # Django's backend; its pool heals after a blip (reseller/dbengine)
    _options = _db.setdefault("OPTIONS", {})  # a DATABASE_URL query string (?sslmode=...) wins over these
    # Fail fast, detect a dead server (docs/operations.md, "Faults: the database"): a refused or
    # unanswered connect gives up after DB_CONNECT_TIMEOUT_SECONDS (libpq's minimum is 2); a query
    # whose server went silent fails after ~11 s of unanswered keepalives (5 s idle, 3 probes 2 s
    # apart) or DB_TCP_USER_TIMEOUT_MS of unacknowledged data, well inside gunicorn's timeout.
    _fail_fast = {
        "connect_timeout": env.int("DB_CONNECT_TIMEOUT_SECONDS", default=2),
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": env.int("DB_TCP_USER_TIMEOUT_MS", default=10000),
    }
    for _name, _value in _fail_fast.items():
        _options.setdefault(_name, _value)
    DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
    if DB_POOL_MAX_SIZE:
        # A connection pool per process (threaded workers): a purchase gives its connection
        # back during the upstream call, and no request pays for a new PostgreSQL backend.
        # Every connection is checked as it leaves the pool, by reseller.dbengine instead of
        # psycopg_pool's check (which sleeps between failed checks): no CONN_HEALTH_CHECKS here.
        _db["CONN_MAX_AGE"] = 0
        _db["CONN_HEALTH_CHECKS"] = False
        _options["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": DB_POOL_MAX_SIZE,
            # How long a request waits for a connection: a refusing database is answered
            # ERROR_SQL after this, not after psycopg_pool's 30 s.
            "timeout": env.float("DB_POOL_TIMEOUT", default=1.5),
            # A failing background reconnect gives up after this and the next request starts
            # a fresh one, so a recovered server is used at once, not after a long backoff.
            "reconnect_timeout": env.float("DB_POOL_RECONNECT_TIMEOUT", default=2.0),
        }
    else:
        # Persistent connections: one per gunicorn worker thread, checked at each request's
        # first query (a dead one is replaced before the request uses it).
        _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        _db["CONN_HEALTH_CHECKS"] = True
    # A request never waits long on a lock or a runaway query.
    _options["options"] = (
        f"-c lock_timeout={env.int('DB_LOCK_TIMEOUT_MS', default=5000)}"
        f" -c statement_timeout={env.int('DB_STATEMENT_TIMEOUT_MS', default=30000)}"
    )
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Wait for the writer instead of failing at once (embedded run only).
    _db.setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------
# Without a broker the embedded run executes every task in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = False  # switched on per idempotent task
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- Money and holds -------------------------------------------------------
# How long a hold stays open before the sweeper may release it.
HOLD_DEFAULT_TTL_SECONDS = env.int("HOLD_DEFAULT_TTL_SECONDS", default=1800)
# How late the sweeper may be before `ledger_verify` reports an expired open hold.
HOLD_SWEEP_GRACE_SECONDS = env.int("HOLD_SWEEP_GRACE_SECONDS", default=300)
HOLD_SWEEP_INTERVAL_SECONDS = env.int("HOLD_SWEEP_INTERVAL_SECONDS", default=60)

# --- Activations ------------------------------------------------------------
ACTIVATION_LIFETIME_SECONDS = env.int("ACTIVATION_LIFETIME_SECONDS", default=1200)
CANCEL_GRACE_SECONDS = env.int("CANCEL_GRACE_SECONDS", default=120)
UPSTREAM_POLL_SECONDS = env.int("UPSTREAM_POLL_SECONDS", default=5)
# Status sync with an active list: activations missing from it (ended upstream) asked one by one per cycle.
UPSTREAM_SYNC_UNLISTED_PER_CYCLE = env.int("UPSTREAM_SYNC_UNLISTED_PER_CYCLE", default=50)
# Markup when no MarkupRule matches (percent of the PKR cost).
DEFAULT_MARKUP_PERCENT = Decimal(env.str("DEFAULT_MARKUP_PERCENT", default="0"))
# Circuit breaker: consecutive provider errors before a provider is skipped, and for how long.
PROVIDER_CIRCUIT_FAILURES = env.int("PROVIDER_CIRCUIT_FAILURES", default=5)
PROVIDER_CIRCUIT_COOLDOWN_SECONDS = env.int("PROVIDER_CIRCUIT_COOLDOWN_SECONDS", default=60)
# How many times a setStatus is forwarded upstream before it is left to the sweeper.
UPSTREAM_FORWARD_MAX_RETRIES = env.int("UPSTREAM_FORWARD_MAX_RETRIES", default=5)

CELERY_BEAT_SCHEDULE = {
    "billing-release-expired-holds": {
        "task": "billing.release_expired_holds",
        "schedule": HOLD_SWEEP_INTERVAL_SECONDS,
    },
    "activations-sync-statuses": {
        "task": "reseller.sync_statuses",
        "schedule": UPSTREAM_POLL_SECONDS,
    },
    "activations-expire": {
        "task": "reseller.expire_activations",
        "schedule": 15,
    },
    "activations-forward-pending": {
        "task": "reseller.forward_pending",
        "schedule": 30,
    },
    "activations-reconcile-unknown": {
        "task": "reseller.reconcile_unknown",
        "schedule": 60,
    },
    "upstream-balance-sync": {
        "task": "upstream.sync_balances",
        "schedule": env.int("BALANCE_SYNC_SECONDS", default=300),
    },
    "upstream-catalogue-sync": {
        "task": "upstream.sync_catalogues",
        "schedule": env.int("CATALOGUE_SYNC_SECONDS", default=900),
    },
}

# --- Benchmark helpers -----------------------------------------------------
# Mounts /bench/bare (one primary-key lookup) for bench/; never in production.
BENCH_VIEWS = env.bool("BENCH_VIEWS", default=False)

# --- I18N / static ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Admin assets served by gunicorn itself (whitenoise) after `collectstatic`.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Logging ---------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
