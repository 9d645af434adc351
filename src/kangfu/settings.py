"""Kangfu settings, read from typed environment variables.

Production is the default: every switch that loosens security has to be turned on explicitly
(`KANGFU_DEBUG`, `KANGFU_INSECURE_HTTP`). A file named by `KANGFU_ENV_FILE` (default
`var/kangfu.env`, written by `kangfu demo`) is read first, so the demo needs no exported variables.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from environs import Env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = Env()
env.read_env(env.str("KANGFU_ENV_FILE", str(VAR_DIR / "kangfu.env")), recurse=False)

DEBUG = env.bool("KANGFU_DEBUG", False)
# Plain HTTP on a developer's machine or the demo; never in a deployment.
INSECURE_HTTP = env.bool("KANGFU_INSECURE_HTTP", DEBUG)

SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if INSECURE_HTTP else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

# Sensitive columns (ID numbers, phones, bank accounts) are encrypted with these keys, which live
# outside the database and apart from SECRET_KEY. "kid:base64key,kid:base64key"; the first encrypts.
KANGFU_DATA_KEYS = env.str("KANGFU_DATA_KEYS")
# Keyed hash for exact-match search on encrypted columns (blind index). Never rotated in place:
# changing it means re-indexing every row (`kangfu keys reindex`).
KANGFU_INDEX_KEY = env.str("KANGFU_INDEX_KEY")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "kangfu.core.serving.StaticFilesConfig",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "kangfu.core",
    "kangfu.people",
    "kangfu.rehab",
    "kangfu.subsidies",
    "kangfu.matching",
    "kangfu.devices",
    "kangfu.programme",
    "kangfu.reports",
    "kangfu.exchange",
    "kangfu.golive",
    "kangfu.events",
]

MIDDLEWARE = [
    # Before everything: every response, even a refused one, carries its request id and is logged,
    # and probes are answered before the host check and the HTTPS redirect.
    "kangfu.core.middleware.RequestIdMiddleware",
    "kangfu.core.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kangfu.core.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kangfu.core.middleware.SessionLifetimeMiddleware",
    "kangfu.core.middleware.SecondFactorMiddleware",
    "kangfu.core.middleware.PublicFormThrottleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kangfu.urls"
# Django's form renderer with the commonest widgets drawn in Python (core.widgets).
FORM_RENDERER = "kangfu.core.widgets.Renderer"
WSGI_APPLICATION = "kangfu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kangfu.core.context_processors.layout",
            ],
        },
    },
]

DATABASES = {
    "default": env.dj_db_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kangfu.sqlite3'}", conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and a task worker share the embedded file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif _page_cost := env.str("KANGFU_PG_RANDOM_PAGE_COST", "1.1"):
    # PostgreSQL's default (4) prices a random read as on a spinning disk, so batch lookups of a
    # few thousand keys (an import chunk, a feed's lines) fall back to reading the whole table once it
    # holds ~100,000 rows. A server's data sits in memory or on SSD, for which 1.1 is the usual value.
    # Set it empty where startup options are refused (a connection pooler) and tune the server instead.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", f"-c random_page_cost={_page_cost}")
# Parameters bound by the server and a statement prepared once it has run five times on a connection:
# the pages repeat the same few statements (the session, the user, a list's page and count), whose
# parsing and planning on each request cost the database about a millisecond a page and the driver
# as much again in quoting values into the text (bench/pages.py). Off behind a pooler that cannot keep
# a session's prepared statements (PgBouncer in transaction mode before 1.21).
KANGFU_PG_PREPARED = env.bool("KANGFU_PG_PREPARED", True)
# A PostgreSQL streaming replica for statistics, reports and exports (core.dbrouting): used only
# inside `replica_reads()`, and only while reachable and less than KANGFU_REPLICA_MAX_LAG seconds behind.
if _replica_url := env.str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = env.dj_db_url("DATABASE_REPLICA_URL", conn_max_age=60)
    # An unreachable replica must cost a read a few seconds at most before the primary answers.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # Tests read the replica through the primary's test database rather than create one there.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
if KANGFU_PG_PREPARED:
    for _alias in DATABASES.values():
        if _alias["ENGINE"] != "django.db.backends.sqlite3":
            _alias.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
KANGFU_REPLICA_MAX_LAG = env.float("KANGFU_REPLICA_MAX_LAG", 30.0)
DATABASE_ROUTERS = ["kangfu.core.dbrouting.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": env.str("KANGFU_TASK_BACKEND", "django_tasks_db.DatabaseBackend")}}

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend; a session signed in under its name before (an upgrade) signs in again.
    "kangfu.core.backends.UserBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("KANGFU_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "kangfu.core.passwords.CharacterClassValidator"},
    {"NAME": "kangfu.core.passwords.RegionNameValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock an account after repeated failures, whatever address the attempts come from.
AXES_FAILURE_LIMIT = env.int("KANGFU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("KANGFU_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Django's database sessions, read by a statement compiled once per connection (core.compiled).
SESSION_ENGINE = "kangfu.core.sessions"
SESSION_IDLE_SECONDS = env.int("KANGFU_SESSION_IDLE_MINUTES", 30) * 60
SESSION_MAX_SECONDS = env.int("KANGFU_SESSION_MAX_HOURS", 12) * 3600
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
# The idle expiry is pushed forward at most once a minute (core.middleware.SessionLifetimeMiddleware),
# not by a write on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not INSECURE_HTTP
CSRF_COOKIE_SECURE = not INSECURE_HTTP
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "kangfu.core.views.csrf_failure"
SECURE_SSL_REDIRECT = env.bool("KANGFU_SSL_REDIRECT", not INSECURE_HTTP)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("KANGFU_BEHIND_PROXY", False) else None
)
SECURE_HSTS_SECONDS = 0 if INSECURE_HTTP else env.int("KANGFU_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not INSECURE_HTTP
SECURE_HSTS_PRELOAD = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # Preloading HSTS is a decision for the deploying organisation's domain, not for the application.
    "security.W021",
    # Lockout is per account on purpose: street offices share one NAT address, and locking an
    # address would lock out a whole office for one clerk's typos. Rotating user agents or cookies
    # does not help an attacker against a per-account limit.
    "axes.W006",
]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("KANGFU_STATIC_ROOT", VAR_DIR / "static")
STATICFILES_DIRS = []
_vendor = BASE_DIR / "node_modules"
if (_vendor / "echarts" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/echarts", str(_vendor / "echarts" / "dist")))
# A deployment serves `kangfu collectstatic`'s output: names carry a hash of the content, files are
# stored compressed too, and WhiteNoise lets browsers keep hashed names for years. The demo, a
# developer's machine and the tests serve straight from the app directories with no collectstatic
# step (`kangfu serve` collects them itself when this is on).
STATIC_MANIFEST = env.bool("KANGFU_STATIC_MANIFEST", not INSECURE_HTTP)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Straight from the app directories as well where nothing is collected, or while debugging (where
# the manifest storage gives unhashed names and edits show without collecting again).
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_MANIFEST
MEDIA_ROOT = env.path("KANGFU_MEDIA_ROOT", VAR_DIR / "media")
# One cache for all the server's processes on this machine (files under var/cache): what a page keeps
# for a few minutes (the 两项补贴 indicators) is counted once, not once in each of the cores + 1
# workers as a per-process memory cache would. It holds figures, never a person's record, and is not
# backed up. On several machines each counts its own, which is all a five-minute cache needs.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(env.path("KANGFU_CACHE_DIR", VAR_DIR / "cache")),
    }
}
KANGFU_BACKUP_DIR = env.path("KANGFU_BACKUP_DIR", VAR_DIR / "backups")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

DJANGO_TABLES2_TEMPLATE = "core/partials/table.html"

# One JSON object per line in a deployment (for a log shipper), readable lines in the demo; every
# line carries the request id (core.observability).
KANGFU_LOG_FORMAT = env.str("KANGFU_LOG_FORMAT", "text" if INSECURE_HTTP else "json")
LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kangfu.core.observability.RequestIdFilter"}},
    "formatters": {
        "main": {"()": "kangfu.core.observability.JsonFormatter"}
        if KANGFU_LOG_FORMAT == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env.str("KANGFU_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Prometheus metrics at /metrics (core.observability): only from these addresses or networks, or
# with this bearer token.
KANGFU_METRICS_ALLOWED = env.list("KANGFU_METRICS_ALLOWED", ["127.0.0.1", "::1"])
KANGFU_METRICS_TOKEN = env.str("KANGFU_METRICS_TOKEN", "")

# Two-factor sign-in for the roles that approve, pay and audit (core.twofactor): on unless turned off
# (the demo turns it off so that every role's day can be walked through without a phone).
KANGFU_TWO_FACTOR = env.bool("KANGFU_TWO_FACTOR", True)
OTP_TOTP_ISSUER = "康复服务管理平台"

# Lists stop counting past this many rows; at a million people an exact count costs more than it tells.
KANGFU_LIST_COUNT_CAP = env.int("KANGFU_LIST_COUNT_CAP", 10000)
KANGFU_EXPORT_MAX_ROWS = env.int("KANGFU_EXPORT_MAX_ROWS", 50000)

# Webhooks (events): a receiver's address must resolve to public addresses only, checked when it is
# registered and again before each connection, so that a city administrator cannot make the server
# call itself, the cloud's metadata service or the intranet (SSRF). An intranet deployment names its
# exchange networks ("10.20.0.0/16,10.30.1.5") rather than allowing every private address.
KANGFU_WEBHOOK_ALLOW_PRIVATE = env.bool("KANGFU_WEBHOOK_ALLOW_PRIVATE", False)
KANGFU_WEBHOOK_ALLOWED_NETWORKS = env.list("KANGFU_WEBHOOK_ALLOWED_NETWORKS", [])
