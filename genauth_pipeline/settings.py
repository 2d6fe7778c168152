"""GenAuth Pipeline settings: one module, driven by environment variables.

Every variable is parsed strictly (see ``apps.core.env``); a bad value stops
start-up with a message naming it. Local defaults need no services at all.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from apps.core.env import (
    ImproperSetting,
    env_bool,
    env_hosts_or_networks,
    env_int,
    env_list,
    env_str,
    env_url,
)
from apps.runtime.config import SandboxConfig

_sandbox_defaults = SandboxConfig()  # lower case: not a setting of its own

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Each process's journal of runs in flight (apps/runs/journal.py); local to the host.
RUN_JOURNAL_DIR = Path(env_str("RUN_JOURNAL_DIR", str(VAR_DIR / "run-journal")))

try:
    DEBUG = env_bool("DEBUG", False)
    SECRET_KEY = env_str("SECRET_KEY", "")
    if not SECRET_KEY:
        if not DEBUG:
            raise ImproperSetting("SECRET_KEY", "required when DEBUG is not True")
        SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
    DATABASE_URL = env_url(
        "DATABASE_URL",
        f"sqlite:///{VAR_DIR / 'genauth.sqlite3'}",
        {"sqlite", "postgres", "postgresql", "pgsql"},
    )
    REDIS_URL = env_url("REDIS_URL", "", {"redis", "rediss", "unix"})
    CELERY_BROKER_URL = env_url(
        "CELERY_BROKER_URL", "filesystem://", {"filesystem", "redis", "rediss", "amqp", "memory"}
    )
    RUN_RETENTION_DAYS = env_int("RUN_RETENTION_DAYS", 90, minimum=1, maximum=3650)
    # The sandbox's settings, handed to apps.runtime at start-up (apps/core/apps.py); their
    # defaults are declared once, in apps/runtime/config.py.
    SANDBOX = SandboxConfig(
        # 0: one per core.
        workers=env_int("SANDBOX_WORKERS", _sandbox_defaults.workers, minimum=0, maximum=64),
        fresh_isolate_per_run=env_bool(
            "SANDBOX_FRESH_ISOLATE_PER_RUN", _sandbox_defaults.fresh_isolate_per_run
        ),
        heap_mb=env_int("SANDBOX_HEAP_MB", _sandbox_defaults.heap_mb, minimum=16, maximum=1024),
        worker_rss_limit_mb=env_int(
            "SANDBOX_WORKER_RSS_MB",
            _sandbox_defaults.worker_rss_limit_mb,
            minimum=128,
            maximum=16384,
        ),
        http_allow=tuple(
            env_hosts_or_networks("SANDBOX_HTTP_ALLOW", list(_sandbox_defaults.http_allow))
        ),
        # Warm isolates each worker keeps (~2.3 MiB a tenant), and runs it serves at once.
        warm_memory_mb=env_int(
            "SANDBOX_WARM_MEMORY_MB", _sandbox_defaults.warm_memory_mb, minimum=0, maximum=65536
        ),
        max_runs_per_worker=env_int(
            "SANDBOX_RUNS_PER_WORKER",
            _sandbox_defaults.max_runs_per_worker,
            minimum=1,
            maximum=1024,
        ),
        # Worker processes started ahead of need, each kept holding the busy tenants' isolates.
        spare_workers=env_int(
            "SANDBOX_SPARE_WORKERS", _sandbox_defaults.spare_workers, minimum=0, maximum=8
        ),
    )
    if SANDBOX.warm_memory_mb + 128 > SANDBOX.worker_rss_limit_mb:
        raise ImproperSetting(
            "SANDBOX_WARM_MEMORY_MB",
            "must leave at least 128 MiB below SANDBOX_WORKER_RSS_MB (workers would retire at once)",
        )
    # CPU milliseconds a tenant's functions may use per minute (limits["cpu_ms_per_minute"]).
    SANDBOX_TENANT_CPU_MS_PER_MINUTE = env_int(
        "SANDBOX_TENANT_CPU_MS_PER_MINUTE", 30000, minimum=1, maximum=100_000_000
    )
    # Runs of one tenant in the sandbox at once (a tenant's limits["max_in_flight"] overrides).
    SANDBOX_TENANT_MAX_IN_FLIGHT = env_int(
        "SANDBOX_TENANT_MAX_IN_FLIGHT", 8, minimum=1, maximum=100000
    )
    SECRETS_KEYS = env_list("SECRETS_KEYS", [])
    if not SECRETS_KEYS and not DEBUG:
        raise ImproperSetting("SECRETS_KEYS", "required when DEBUG is not True")
    API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "6000/min")
    API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 256 * 1024, minimum=1024)
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
except ImproperSetting as exc:
    # A clean message and exit status instead of a traceback.
    raise SystemExit(f"Configuration error: {exc}") from None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "reversion",
    "apps.core",
    "apps.audit",
    "apps.tenants",
    "apps.pipelines",
    "apps.runs",
    "apps.gallery",
    "apps.secrets",
    "apps.hooks",
    "apps.api",
    "apps.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.api.middleware.NulInUrlMiddleware",
    "apps.api.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "genauth_pipeline.urls"
WSGI_APPLICATION = "genauth_pipeline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str) -> dict[str, object]:
    config: dict[str, object] = dict(dj_database_url.parse(url))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(str(config["NAME"])).parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE transactions and a busy timeout: deferred ones fail with
        # "database is locked" under concurrent writers.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        config["CONN_MAX_AGE"] = 600
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, keeping its Redis clients (apps/core/redis_cache.py).
            "BACKEND": "apps.core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "genauth",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
LOGIN_URL = "admin:login"

# Security headers. Monaco injects styles at run time and runs its language
# services in workers, hence 'unsafe-inline' styles and blob: workers.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "worker-src": [CSP.SELF, "blob:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.ApiKeyAuthentication",
        "apps.api.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.IsTenantPrincipal"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"principal": API_THROTTLE_RATE},
    "DEFAULT_PARSER_CLASSES": ["apps.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "apps.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "GenAuth Pipeline API",
    "DESCRIPTION": "Run tenants' JavaScript functions inside authentication flows.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    _queue_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if DEBUG else "WARNING"},
}
