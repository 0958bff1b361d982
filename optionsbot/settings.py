"""Settings, all read from the environment.

Two environments:

* ``embedded`` (the default): one machine, SQLite in WAL mode, no Redis, the simulated Deribit
  exchange; a secret key is generated once and kept in the data folder.
* ``production``: ``SECRET_KEY`` and ``ALLOWED_HOSTS`` are required, cookies are secure and
  HTTPS is enforced; PostgreSQL and Redis are expected (``DATABASE_URL``, ``REDIS_URL``).

Every variable is listed, with its default, in the README's configuration table.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from optionsbot.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

OPTIONSBOT_ENV = env_choice("OPTIONSBOT_ENV", "embedded", ("embedded", "production"))
PRODUCTION = OPTIONSBOT_ENV == "production"

# Where the embedded default keeps its database, secret key, broker files and harvested data.
DATA_DIR = Path(env_str("OPTIONSBOT_DATA_DIR", str(BASE_DIR / "var"))).expanduser().resolve()


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        if PRODUCTION and (len(configured) < 50 or len(set(configured)) < 5):
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production")
        return configured
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when OPTIONSBOT_ENV=production")
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG cannot be on when OPTIONSBOT_ENV=production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when OPTIONSBOT_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "optionsbot",
    "trading",
    "backtests",
    "research",
    "frontend",
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

ROOT_URLCONF = "optionsbot.urls"
WSGI_APPLICATION = "optionsbot.wsgi.application"
ASGI_APPLICATION = "optionsbot.asgi.application"

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
                "frontend.context_processors.product",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "optionsbot.sqlite3"),
            "OPTIONS": {
                # Several processes share the file: WAL lets readers and one writer work at once,
                # the busy timeout makes writers wait instead of failing with "database is locked",
                # and IMMEDIATE transactions take the write lock up front so they cannot deadlock.
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve static files straight from the apps when collectstatic has not been run (tests, dev).
WHITENOISE_USE_FINDERS = not PRODUCTION

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "frontend:live"
LOGOUT_REDIRECT_URL = "login"

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the dashboard's scripts read it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]

# --- Redis, Celery, Channels ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is required when OPTIONSBOT_ENV=production")

CELERY_BROKER_DIR = DATA_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    # No broker server in the embedded default: kombu's filesystem transport passes messages
    # through files in the data folder, so a real Celery worker still runs the tasks.
    CELERY_BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "agent"
CELERY_QUEUES_ALL = ("agent", "backtests", "research")
CELERY_TASK_ROUTES = {
    "trading.tasks.*": {"queue": "agent"},
    "backtests.tasks.*": {"queue": "backtests"},
    "research.tasks.*": {"queue": "research"},
    "optionsbot.tasks.*": {"queue": "agent"},
}

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNELS_PREFIX", "optionsbot")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# How live updates leave the process that made them. With Redis the channel layer crosses
# processes. Without it, events are written to the database and the web process relays them.
LIVE_EVENTS_VIA_OUTBOX = not REDIS_URL
LIVE_EVENTS_POLL_SECONDS = 0.5

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["optionsbot.permissions.ViewerReadOperatorWrite"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "optionsbot.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "optionsbot API",
    "DESCRIPTION": "Strategies, agent state, backtests and research of an options-selling agent for Deribit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BacktestRunStatusEnum": "backtests.models.BacktestRun.Status",
        "CalibrationSourceEnum": "backtests.models.CalibrationRun.Source",
        "CalibrationParamSetStatusEnum": "backtests.models.CalibrationParamSet.Status",
    },
}

# --- Trading --------------------------------------------------------------------------------
DERIBIT_ENV = env_choice("DERIBIT_ENV", "testnet", ("testnet", "mainnet"))
TRADING_MODE = env_choice("TRADING_MODE", "sim", ("sim", "live"))
DERIBIT_CLIENT_ID = env_str("DERIBIT_CLIENT_ID")
DERIBIT_CLIENT_SECRET = env_str("DERIBIT_CLIENT_SECRET")
if TRADING_MODE == "live" and not (DERIBIT_CLIENT_ID and DERIBIT_CLIENT_SECRET):
    raise ImproperlyConfigured("TRADING_MODE=live needs DERIBIT_CLIENT_ID and DERIBIT_CLIENT_SECRET")
if DERIBIT_ENV == "mainnet" and not env_bool("DERIBIT_MAINNET_CONFIRM", False):
    raise ImproperlyConfigured(
        "DERIBIT_ENV=mainnet trades real money: set DERIBIT_MAINNET_CONFIRM=true as well to allow it"
    )
AGENT_TICK_SECONDS = env_int("AGENT_TICK_SECONDS", 60, minimum=5)
# The local Deribit emulator that TRADING_MODE=sim trades against (started by run_embedded).
EMULATOR_PORT = env_int("EMULATOR_PORT", 8765, minimum=1)
# No new risk is opened this many minutes before the daily 08:00 UTC expiry.
AGENT_EXPIRY_QUIET_MINUTES = env_int("AGENT_EXPIRY_QUIET_MINUTES", 30, minimum=0)

# Real Deribit data for imports, calibration and the real-data tests (read in place, never copied).
OPTIONSBOT_REAL_DATA = env_str("OPTIONSBOT_REAL_DATA", str(BASE_DIR.parent / "shared" / "deribit_data"))

# --- LLM ------------------------------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Market data ----------------------------------------------------------------------------
# Snapshots and the chain harvester read public Deribit data. In TRADING_MODE=sim a non-empty
# DERIBIT_BASE_URL (the local emulator, e.g. http://127.0.0.1:8765) replaces Deribit's host; empty
# means the official testnet or mainnet host per DERIBIT_ENV. TRADING_MODE=live always uses Deribit.
DERIBIT_BASE_URL = env_str("DERIBIT_BASE_URL").rstrip("/")
if DERIBIT_BASE_URL and not DERIBIT_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"DERIBIT_BASE_URL must start with http:// or https://: {DERIBIT_BASE_URL!r}")
TARDIS_API_KEY = env_str("TARDIS_API_KEY")  # never logged; without it only first-of-month days download
MARKET_SNAPSHOT_MAX_AGE_SECONDS = env_int("MARKET_SNAPSHOT_MAX_AGE_SECONDS", 120, minimum=1)
MARKET_SNAPSHOT_MIN_INSTRUMENTS = env_int("MARKET_SNAPSHOT_MIN_INSTRUMENTS", 20, minimum=1)
MARKET_SNAPSHOT_KEEP_DAYS = env_int("MARKET_SNAPSHOT_KEEP_DAYS", 7, minimum=1)
HARVEST_CURRENCIES = [c.upper() for c in env_list("HARVEST_CURRENCIES", ["BTC", "ETH"])]
if not HARVEST_CURRENCIES or not set(HARVEST_CURRENCIES) <= {"BTC", "ETH"}:
    raise ImproperlyConfigured("HARVEST_CURRENCIES must be BTC, ETH or both (comma-separated)")
