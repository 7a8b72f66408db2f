"""Settings, read from the environment (see `.env.example` and `docs/settings.md`).

The defaults give the *embedded* run: a SQLite file, Celery tasks executed
in-process, a local-memory cache. Production sets DATABASE_URL (PostgreSQL),
CELERY_BROKER_URL and REDIS_URL (Redis), and must set SECRET_KEY and
ALLOWED_HOSTS: outside the embedded run the server refuses to start without them.
"""

import ipaddress
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A `.env` file beside manage.py is read when present; real environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The embedded run (`make run`): a SQLite database, or EMBEDDED=1. Everything else is production
# and must set SECRET_KEY and ALLOWED_HOSTS (checked in "Security (production)" below).
# gunicorn.conf.py and the Docker image default EMBEDDED to 0, whatever the database.
_DATABASE_URL = env.str("DATABASE_URL", default="")
EMBEDDED = env.bool("EMBEDDED", default=not _DATABASE_URL or _DATABASE_URL.startswith("sqlite"))
EMBEDDED_SECRET_KEY = "insecure-embedded-default-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=EMBEDDED_SECRET_KEY if EMBEDDED else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if EMBEDDED else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Security (production) --------------------------------------------------
# Outside the embedded run the server refuses to start without a real SECRET_KEY and explicit
# ALLOWED_HOSTS, and defaults to HTTPS everywhere (redirect, HSTS, secure cookies), so that
# `manage.py check --deploy` is clean with the production environment of docs/operations.md.
MIN_SECRET_KEY_LENGTH = 50  # and 5 distinct characters: Django's own rule (security.W009)


def _refuse(variable: str, problem: str) -> None:
    error = ImproperlyConfigured(f"{variable} {problem} (outside the embedded run; see docs/settings.md)")
    error.production_setting = variable  # manage.py prints these as one line
    raise error


if not EMBEDDED:
    if not SECRET_KEY:
        _refuse("SECRET_KEY", "is not set: use a random string of 50+ characters (secrets.token_urlsafe(50))")
    if (
        SECRET_KEY in (EMBEDDED_SECRET_KEY, "change-me")
        or len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH
        or len(set(SECRET_KEY)) < 5
        or SECRET_KEY.startswith("django-insecure-")
    ):
        _refuse("SECRET_KEY", f"is too weak: use a random string of {MIN_SECRET_KEY_LENGTH}+ characters")
    if not ALLOWED_HOSTS:
        _refuse("ALLOWED_HOSTS", "is not set: list this server's host names, comma-separated")
    if "*" in ALLOWED_HOSTS:
        _refuse("ALLOWED_HOSTS", "must not be '*': list this server's host names, comma-separated")

_PRODUCTION = not EMBEDDED
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_PRODUCTION)
# The four protocol endpoints, the webhooks and /healthz answer plain HTTP too: customers'
# software may be configured with http:// and must get its 200 and tokens (a redirect would
# come after the key already crossed the wire anyway); load balancers probe over HTTP.
SECURE_REDIRECT_EXEMPT = [
    r"^stubs/(handler_api|cheap_handler|rental-handler|email_handler)\.php$",
    r"^upstream/webhook/",
    r"^healthz$",
]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_PRODUCTION)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_PRODUCTION)
# Behind a TLS-terminating proxy that sets this header (and strips it from clients), e.g.
# SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto: requests carrying `<header>: https` are secure.
_PROXY_SSL_HEADER = env.str("SECURE_PROXY_SSL_HEADER", default="").strip()
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")

# Upstream provider URLs may point at private, loopback or link-local addresses only when this
# is on: the embedded run (default), the test suite's fakes, a chain to a server on the operator's
# own network. Checked when a URL is saved and again on every connection (upstream/destinations.py).
UPSTREAM_ALLOW_PRIVATE_URLS = env.bool("UPSTREAM_ALLOW_PRIVATE_URLS", default=EMBEDDED)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "auditlog",
    "accounts",
    "billing",
    "upstream",
    "reseller",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "reseller.audit.AuditMiddleware",  # the audit trail's actor: the admin user (docs/admin-guide.md)
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
    _session_options = (
        f"-c lock_timeout={env.int('DB_LOCK_TIMEOUT_MS', default=5000)}"
        f" -c statement_timeout={env.int('DB_STATEMENT_TIMEOUT_MS', default=30000)}"
    )
    # DATABASE_URL names a pooler in transaction mode (PgBouncer, docs/operations.md "Scaling out"):
    # consecutive transactions of one connection may run on different server sessions, so no
    # server-side cursor may outlive a transaction (QuerySet.iterator() uses one), and the session
    # options above are not sent (a pooler refuses or drops them): the role carries the timeouts
    # (ALTER ROLE ... SET). Prepared statements are off already (Django's psycopg default).
    DB_TRANSACTION_POOLING = env.bool("DB_TRANSACTION_POOLING", default=False)
    if DB_TRANSACTION_POOLING:
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        _options["options"] = _session_options
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
QUEUE_WEBHOOKS = f"{CELERY_QUEUE_PREFIX}webhooks"  # customers' webhooks: a slow customer waits only here
CELERY_TASK_QUEUES = {
    q: {"exchange": q, "routing_key": q} for q in (QUEUE_URGENT, QUEUE_FORWARD, QUEUE_SLOW, QUEUE_WEBHOOKS)
}
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
    # Rentals: minutes-long periods, not seconds-long codes; kept off the urgent queue.
    "reseller.sync_rentals": {"queue": QUEUE_FORWARD},
    "reseller.sync_provider_rentals": {"queue": QUEUE_FORWARD},
    "reseller.expire_rentals": {"queue": QUEUE_SLOW},
    "reseller.forward_rental_status": {"queue": QUEUE_FORWARD},
    "reseller.reconcile_rentals": {"queue": QUEUE_SLOW},
    "reseller.sync_emails": {"queue": QUEUE_FORWARD},
    "reseller.sync_provider_emails": {"queue": QUEUE_FORWARD},
    "reseller.expire_emails": {"queue": QUEUE_SLOW},
    "reseller.forward_email_cancel": {"queue": QUEUE_FORWARD},
    "reseller.reconcile_emails": {"queue": QUEUE_SLOW},
    "upstream.sync_catalogues": {"queue": QUEUE_SLOW},
    "upstream.sync_balances": {"queue": QUEUE_SLOW},
    "reseller.deliver_webhook": {"queue": QUEUE_WEBHOOKS},
    "reseller.sweep_webhooks": {"queue": QUEUE_WEBHOOKS},
    "reports.rollup_days": {"queue": QUEUE_SLOW},  # the daily rollup of the reports: never urgent
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
# A cheap number lives 15 minutes (cheap_handler.php answers `ORD_<id>,<number>,900`).
CHEAP_LIFETIME_SECONDS = env.int("CHEAP_LIFETIME_SECONDS", default=900)
CANCEL_GRACE_SECONDS = env.int("CANCEL_GRACE_SECONDS", default=120)
# A rental is refunded on cancel only within this long of its start and before any SMS (the
# rule SMS-Activate and Get-SMS document for their rentals: 20 minutes).
RENTAL_REFUND_SECONDS = env.int("RENTAL_REFUND_SECONDS", default=1200)
# An e-mail order waits this long for its letter where the upstream does not say (Kopeechka:
# 20 minutes); a server's own `lifetime_seconds` may make it shorter.
EMAIL_LIFETIME_SECONDS = env.int("EMAIL_LIFETIME_SECONDS", default=1200)
# One deadline for a whole purchase (every provider of its failover chain), well inside the
# web worker's timeout (gunicorn.conf.py keeps GUNICORN_TIMEOUT at least 10 s above it).
PURCHASE_DEADLINE_SECONDS = env.float("PURCHASE_DEADLINE_SECONDS", default=20.0)
# No further provider is tried with less than this left of the deadline.
PURCHASE_MIN_ATTEMPT_SECONDS = env.float("PURCHASE_MIN_ATTEMPT_SECONDS", default=2.0)
# A purchase still `requesting` this long after its deadline was interrupted (its process died):
# the expiry sweeper closes it as an unknown outcome and reconciliation looks for its number.
PURCHASE_STUCK_GRACE_SECONDS = env.int("PURCHASE_STUCK_GRACE_SECONDS", default=60)
UPSTREAM_POLL_SECONDS = env.int("UPSTREAM_POLL_SECONDS", default=5)
# Status sync with an active list: activations missing from it (ended upstream) asked one by one per cycle.
UPSTREAM_SYNC_UNLISTED_PER_CYCLE = env.int("UPSTREAM_SYNC_UNLISTED_PER_CYCLE", default=50)
# Markup when no MarkupRule matches (percent of the PKR cost).
DEFAULT_MARKUP_PERCENT = Decimal(env.str("DEFAULT_MARKUP_PERCENT", default="0"))
# Circuit breaker: consecutive provider errors before a provider is skipped, and for how long.
PROVIDER_CIRCUIT_FAILURES = env.int("PROVIDER_CIRCUIT_FAILURES", default=5)
PROVIDER_CIRCUIT_COOLDOWN_SECONDS = env.int("PROVIDER_CIRCUIT_COOLDOWN_SECONDS", default=60)
# Successful purchase attempts are written to the provider's health row once per this interval
# per process (one UPDATE for all of them); 0: one UPDATE per attempt (upstream/health.py).
PROVIDER_HEALTH_FLUSH_SECONDS = env.float("PROVIDER_HEALTH_FLUSH_SECONDS", default=1.0)
# Upstream reconciliation (docs/operators-guide.md): drift (PKR) tolerated beyond the unknown-outcome
# exposure between two balance snapshots (rounding of each cost to the paisa, rate changes).
RECONCILE_TOLERANCE_PKR = Decimal(env.str("RECONCILE_TOLERANCE_PKR", default="1.00"))
# The dashboard's drift warnings look at the snapshots of this many hours.
DASHBOARD_RECONCILE_HOURS = env.int("DASHBOARD_RECONCILE_HOURS", default=24)
# How many times a setStatus is forwarded upstream before it is left to the sweeper.
UPSTREAM_FORWARD_MAX_RETRIES = env.int("UPSTREAM_FORWARD_MAX_RETRIES", default=5)

# --- Customer webhooks (docs/webhooks.md) -----------------------------------
# Seconds to wait before each retry of an unanswered delivery: 8 tries in all (the first at once),
# the last 107.5 minutes after the first; a delivery is also given up WEBHOOK_GIVE_UP_SECONDS
# after the SMS, whatever its count (SMS-Activate: "within 2 hours, but no more than 8 times").
WEBHOOK_RETRY_DELAYS = tuple(env.list("WEBHOOK_RETRY_DELAYS", cast=int, default=[30, 120, 300, 600, 1200, 1800, 2400]))
WEBHOOK_GIVE_UP_SECONDS = env.int("WEBHOOK_GIVE_UP_SECONDS", default=7200)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=3.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("WEBHOOK_READ_TIMEOUT_SECONDS", default=10.0)
# Retries up to this far ahead ride a Celery countdown; later ones are sent by the sweeper when due
# (an ETA message is held unacknowledged by a worker: keep it under the broker's limits).
WEBHOOK_MAX_COUNTDOWN_SECONDS = env.int("WEBHOOK_MAX_COUNTDOWN_SECONDS", default=300)
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=15)
# Customer URLs must resolve to public addresses unless this is on (the embedded run), the
# customer's own "allow private" flag is set by an admin, or the address is in one of these networks.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=EMBEDDED)
WEBHOOK_ALLOWED_NETWORKS = tuple(env.list("WEBHOOK_ALLOWED_NETWORKS", default=[]))
for _network in WEBHOOK_ALLOWED_NETWORKS:  # a typo stops the start, not every delivery
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_NETWORKS: {_network!r} is not a network (10.0.0.0/8)") from None


def _every(task: str, seconds: int) -> dict:
    # A copy that waited in its queue longer than this is dropped by the worker: a fresh one is
    # due by then, so a stalled queue does not fill with stale sweeps (30 s floor: clock skew).
    return {"task": task, "schedule": seconds, "options": {"expires": max(seconds, 30)}}


# Reports (docs/reports.md): the rollup task recomputes today and the days before it this often;
# a rolled-up day is read from the rollup once it was computed this long after the day ended.
REPORTS_ROLLUP_SECONDS = env.int("REPORTS_ROLLUP_SECONDS", default=600)
REPORTS_ROLLUP_RECENT_DAYS = env.int("REPORTS_ROLLUP_RECENT_DAYS", default=3)
REPORTS_ROLLUP_GRACE_SECONDS = env.int("REPORTS_ROLLUP_GRACE_SECONDS", default=120)

# Each task goes to its queue (CELERY_TASK_ROUTES), whoever sends it.
CELERY_BEAT_SCHEDULE = {
    "billing-release-expired-holds": _every("billing.release_expired_holds", HOLD_SWEEP_INTERVAL_SECONDS),
    "activations-sync-statuses": _every("reseller.sync_statuses", UPSTREAM_POLL_SECONDS),
    "activations-expire": _every("reseller.expire_activations", env.int("EXPIRE_SWEEP_SECONDS", default=15)),
    "activations-forward-pending": _every("reseller.forward_pending", env.int("FORWARD_SWEEP_SECONDS", default=30)),
    "activations-reconcile-unknown": _every("reseller.reconcile_unknown", 60),
    "rentals-sync": _every("reseller.sync_rentals", env.int("RENTAL_POLL_SECONDS", default=15)),
    "rentals-expire": _every("reseller.expire_rentals", 60),
    "rentals-reconcile": _every("reseller.reconcile_rentals", 120),
    "emails-sync": _every("reseller.sync_emails", env.int("EMAIL_POLL_SECONDS", default=5)),
    "emails-expire": _every("reseller.expire_emails", 30),
    "emails-reconcile": _every("reseller.reconcile_emails", 120),
    "upstream-balance-sync": _every("upstream.sync_balances", env.int("BALANCE_SYNC_SECONDS", default=300)),
    "upstream-catalogue-sync": _every("upstream.sync_catalogues", env.int("CATALOGUE_SYNC_SECONDS", default=900)),
    "webhooks-sweep": _every("reseller.sweep_webhooks", WEBHOOK_SWEEP_SECONDS),
    "reports-rollup": _every("reports.rollup_days", REPORTS_ROLLUP_SECONDS),
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
# docs/logging.md. JSON lines (LOG_FORMAT=json, the default outside the embedded run) or text; every
# line masks API keys and upstream secrets (observability/masking.py) and carries the request id
# (observability/request_id.py); gunicorn's own lines: reseller/gunicorn_logging.py.
from observability.logs import log_format as _log_format  # noqa: E402
from observability.logs import logging_config as _logging_config  # noqa: E402

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
try:
    LOG_FORMAT = _log_format(EMBEDDED)
except ValueError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
LOGGING = _logging_config(LOG_FORMAT, LOG_LEVEL)
# Python's warnings (printed raw to stderr otherwise) become log lines of `py.warnings`: JSON too.
import logging as _logging  # noqa: E402

_logging.captureWarnings(True)
# The request id of every request (X-Request-ID in and out): first, so every other middleware's
# lines carry it.
MIDDLEWARE.insert(0, "observability.request_id.RequestIdMiddleware")

# Errors to Sentry, only when SENTRY_DSN is set (observability/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from observability.sentry import init_sentry as _init_sentry

    _init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

# --- Abuse limits ------------------------------------------------------------------
# docs/settings.md, decisions.md "Abuse limits". Rates are `limits` strings: "50/second",
# "20/10minutes", several joined by ";"; empty or 0 switches that limit off.
import limits as _limits  # noqa: E402

RATE_LIMIT_PER_KEY = env.str("RATE_LIMIT_PER_KEY", default="50/second")
RATE_LIMIT_PER_IP = env.str("RATE_LIMIT_PER_IP", default="100/second")
# Unknown (well-formed) keys from one IP within the window; the N-th locks the IP out for the window.
RATE_LIMIT_BAD_KEYS_PER_IP = env.str("RATE_LIMIT_BAD_KEYS_PER_IP", default="20/10minutes")
# How long a key found unknown is answered BAD_KEY without a database query (0: never remembered).
UNKNOWN_KEY_CACHE_SECONDS = env.int("UNKNOWN_KEY_CACHE_SECONDS", default=60)
# The counters: Redis (shared by every worker) in production, this process's memory otherwise.
RATE_LIMIT_STORAGE_URL = env.str("RATE_LIMIT_STORAGE_URL", default=REDIS_URL or "memory://")
for _rate in (RATE_LIMIT_PER_KEY, RATE_LIMIT_PER_IP, RATE_LIMIT_BAD_KEYS_PER_IP):
    if _rate.strip() not in ("", "0"):
        _limits.parse_many(_rate)  # a typo fails at start-up, not on the first request
# Reverse proxies in front of gunicorn that append to X-Forwarded-For (0: the peer address is the client).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Admin login lockout (django-axes): failures per username+IP, then refused for the cool-off;
# attempts are kept in the database (shared by every worker, visible in the admin).
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes requires
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner on every management command
AXES_CLIENT_IP_CALLABLE = "reseller.client_ip.client_ip"

# The audit trail (django-auditlog): who changed providers, services, countries, markups, customers
# and servers, and when. Registered in each app's ready(); see docs/admin-guide.md, "The audit trail".
AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Metrics (docs/metrics.md) ------------------------------------------------------------
import re as _re  # noqa: E402

# The web serves Prometheus metrics at METRICS_PATH to a request with `Authorization: Bearer
# <METRICS_TOKEN>`; with no token, to loopback callers without forwarding headers only; anyone
# else gets 404. Celery workers serve theirs on WORKER_METRICS_PORT (read by observability.workers),
# prometheus_client's multiprocess mode is PROMETHEUS_MULTIPROC_DIR (read by prometheus_client).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="").strip()
METRICS_PATH = env.str("METRICS_PATH", default="/metrics").strip()
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be 16+ characters (secrets.token_urlsafe(32)); see docs/settings.md")
if (
    not METRICS_PATH.startswith("/")
    or METRICS_PATH in ("/", "/admin/", "/healthz")
    or METRICS_PATH.startswith(("/stubs/", "/upstream/", "/admin/", "/static/"))
):
    raise ImproperlyConfigured(f"METRICS_PATH {METRICS_PATH!r}: a path of its own starting with / (default /metrics)")
# First: the time of everything Django does for a request, redirects and refusals included.
MIDDLEWARE.insert(0, "reseller.metrics.HttpMetricsMiddleware")
# Scrapers speak plain HTTP on the internal network, like the protocol endpoints' callers: a
# redirect would come after the token already crossed the wire.
SECURE_REDIRECT_EXEMPT.append("^" + _re.escape(METRICS_PATH.lstrip("/")) + "$")
