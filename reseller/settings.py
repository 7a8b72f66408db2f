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
    DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
    if DB_POOL_MAX_SIZE:
        # A connection pool per process (threaded workers): a purchase gives its connection
        # back during the upstream call, and no request pays for a new PostgreSQL backend.
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env.int("DB_POOL_TIMEOUT", default=30),
        }
    else:
        # Persistent connections: one per gunicorn worker thread, health-checked.
        _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        _db["CONN_HEALTH_CHECKS"] = True
    # A request never waits long on a lock or a runaway query.
    _db.setdefault("OPTIONS", {})["options"] = (
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
# Without a broker the embedded run executes every task in-process. Production: RabbitMQ
# (amqp://); a Redis broker still works but does not ride out its own outage (docs/operations.md).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = False  # switched on per idempotent task
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"

# Queues by urgency; a worker per queue group keeps status sync and expiry from ever waiting
# behind a burst of forwards (docs/operations.md, "Worker layout"). The prefix lets several
# installations (or test runs) share one broker; it also prefixes the task system's cache keys.
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="")
QUEUE_URGENT = f"{CELERY_QUEUE_PREFIX}urgent"  # status sync, expiry, the hold sweeper
QUEUE_FORWARD = f"{CELERY_QUEUE_PREFIX}forward"  # customers' setStatus sent upstream
QUEUE_SLOW = f"{CELERY_QUEUE_PREFIX}slow"  # reconciliation, catalogue and balance sync; anything unrouted
CELERY_TASK_QUEUES = {q: {"exchange": q, "routing_key": q} for q in (QUEUE_URGENT, QUEUE_FORWARD, QUEUE_SLOW)}
CELERY_TASK_DEFAULT_QUEUE = QUEUE_SLOW
CELERY_TASK_DEFAULT_EXCHANGE = QUEUE_SLOW
CELERY_TASK_DEFAULT_ROUTING_KEY = QUEUE_SLOW
CELERY_TASK_ROUTES = {
    "reseller.sync_statuses": {"queue": QUEUE_URGENT},
    "reseller.sync_provider_statuses": {"queue": QUEUE_URGENT},
    "reseller.check_activation": {"queue": QUEUE_URGENT},
    "reseller.expire_activations": {"queue": QUEUE_URGENT},
    "billing.release_expired_holds": {"queue": QUEUE_URGENT},
    "reseller.forward_status": {"queue": QUEUE_FORWARD},
    "reseller.forward_pending": {"queue": QUEUE_FORWARD},
    "reseller.reconcile_unknown": {"queue": QUEUE_SLOW},
    "reseller.reconcile_provider": {"queue": QUEUE_SLOW},
    "upstream.sync_catalogues": {"queue": QUEUE_SLOW},
    "upstream.sync_balances": {"queue": QUEUE_SLOW},
}
if CELERY_QUEUE_PREFIX:  # remote control and events stay private to the prefix too
    CELERY_CONTROL_EXCHANGE = f"{CELERY_QUEUE_PREFIX}celery"
    CELERY_EVENT_EXCHANGE = f"{CELERY_QUEUE_PREFIX}celeryev"

# Riding out a broker outage. Workers and beat reconnect forever, also at start-up; a worker
# notices a dead broker within about two heartbeats even when no RST arrives.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_HEARTBEAT = env.int("CELERY_BROKER_HEARTBEAT", default=10)
# Every task is idempotent and acks_late: on a lost connection its message goes back to the
# queue anyway, so the running copy is stopped instead of racing the redelivered one.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Producers (web requests, beat, tasks fanning out) retry a publish briefly, then give up: a
# customer's request never waits long on a dead broker, and the sweepers send the work later.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}
# After a failed publish a process stops trying for this long (enqueue.after_commit).
CELERY_PUBLISH_PAUSE_SECONDS = env.float("CELERY_PUBLISH_PAUSE_SECONDS", default=5.0)
if CELERY_BROKER_URL.startswith(("amqp", "pyamqp")):
    # Publisher confirms: a publish into a connection that just died raises instead of vanishing.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300)}
    if CELERY_QUEUE_PREFIX and CELERY_BROKER_URL.startswith(("redis", "rediss")):
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_QUEUE_PREFIX
# A forward_status message counts as queued (forward_pending sends no second one) for this long;
# a lost message is sent again after it.
FORWARD_QUEUED_TTL_SECONDS = env.int("FORWARD_QUEUED_TTL_SECONDS", default=600)

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
# Markup when no MarkupRule matches (percent of the PKR cost).
DEFAULT_MARKUP_PERCENT = Decimal(env.str("DEFAULT_MARKUP_PERCENT", default="0"))
# Circuit breaker: consecutive provider errors before a provider is skipped, and for how long.
PROVIDER_CIRCUIT_FAILURES = env.int("PROVIDER_CIRCUIT_FAILURES", default=5)
PROVIDER_CIRCUIT_COOLDOWN_SECONDS = env.int("PROVIDER_CIRCUIT_COOLDOWN_SECONDS", default=60)
# How many times a setStatus is forwarded upstream before it is left to the sweeper.
UPSTREAM_FORWARD_MAX_RETRIES = env.int("UPSTREAM_FORWARD_MAX_RETRIES", default=5)


def _every(task: str, seconds: int) -> dict:
    # A copy that waited in its queue longer than this is dropped by the worker: a fresh one is
    # due by then, so a stalled queue does not fill with stale sweeps (30 s floor: clock skew).
    return {"task": task, "schedule": seconds, "options": {"expires": max(seconds, 30)}}


# Each task goes to its queue (CELERY_TASK_ROUTES), whoever sends it.
CELERY_BEAT_SCHEDULE = {
    "billing-release-expired-holds": _every("billing.release_expired_holds", HOLD_SWEEP_INTERVAL_SECONDS),
    "activations-sync-statuses": _every("reseller.sync_statuses", UPSTREAM_POLL_SECONDS),
    "activations-expire": _every("reseller.expire_activations", env.int("EXPIRE_SWEEP_SECONDS", default=15)),
    "activations-forward-pending": _every("reseller.forward_pending", env.int("FORWARD_SWEEP_SECONDS", default=30)),
    "activations-reconcile-unknown": _every("reseller.reconcile_unknown", 60),
    "upstream-balance-sync": _every("upstream.sync_balances", env.int("BALANCE_SYNC_SECONDS", default=300)),
    "upstream-catalogue-sync": _every("upstream.sync_catalogues", env.int("CATALOGUE_SYNC_SECONDS", default=900)),
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
