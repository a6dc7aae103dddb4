"""Settings, read from the environment with safe local defaults (see .env.example)."""

from __future__ import annotations

import os
from email.utils import formataddr, parseaddr
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Generic classes (`admin.ModelAdmin[Course]`, `QuerySet[Order]`) work at runtime, not only for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("BOOKDESK_DATA_DIR", Path.cwd() / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("BOOKDESK_PRODUCTION", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    # A fixed key for local use only; production sets SECRET_KEY (checked by /readyz and start-up checks).
    SECRET_KEY = "bookdesk-insecure-local-development-key-change-me-0123456789"  # noqa: S105

SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Debug pages and error reports mask every secret, URLs with credentials included.
DEFAULT_EXCEPTION_REPORTER_FILTER = "bookdesk.ops.reporting.SecretSafeReporterFilter"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)
# Browsers on these origins may call /api/ (django-cors-headers); API clients send X-Session-Token, not cookies.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "x-csrftoken", "x-requested-with", "x-session-token")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "bookdesk.accounts.apps.SignInConfig",  # allauth.account
    "bookdesk.accounts.apps.SignInWithOthersConfig",  # allauth.socialaccount
    "allauth.socialaccount.providers.openid_connect",
    "allauth.headless",
    "ninja",  # serves Swagger UI's assets itself (/api/docs), no CDN
    "corsheaders",
    "bookdesk.accounts",
    "bookdesk.catalog",
    "bookdesk.cart",
    "bookdesk.orders",
    "bookdesk.payments",
    "bookdesk.notifications",
    "bookdesk.web",
    "bookdesk.console",
    "bookdesk.worker",
    "bookdesk.ops",
]

MIDDLEWARE = [
    "bookdesk.ops.middleware.RequestIdMiddleware",
    "bookdesk.ops.middleware.MetricsMiddleware",
    # Before anything that may answer on its own (preflights and refusals carry their CORS headers too).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bookdesk.ops.middleware.SecurityHeadersMiddleware",
    "bookdesk.web.middleware.MalformedRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "bookdesk.web.middleware.AdminTimeZoneMiddleware",
    "bookdesk.web.middleware.ErrorPageMiddleware",
    "bookdesk.api.problems.ProblemJsonMiddleware",
]

ROOT_URLCONF = "bookdesk.urls"
WSGI_APPLICATION = "bookdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Our templates first, so they override the apps' (allauth's layouts and elements).
        "DIRS": [BASE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bookdesk.web.context_processors.site",
            ],
        },
    },
]

# Database: DATABASE_URL, or the embedded SQLite file.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'bookdesk.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Immediate transactions take the write lock up front: SQLite's stand-in for row locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_bool("DB_PREPARED_STATEMENTS", True):
    # PostgreSQL plans a statement once per connection instead of on every run: server-side parameters, and
    # psycopg prepares a statement the second time a connection runs it. That halves PostgreSQL's CPU per
    # checkout (the placement's joins cost more to plan than to run). Turn off behind PgBouncer's transaction
    # pooling before 1.21 (or without its max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 1})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set, otherwise the database, so rate limits hold across processes.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    # Sessions read from Redis first, written through to the database (they survive a Redis restart).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "bookdesk_cache",
        }
    }

AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, reading the signed-in user without compiling its query on every request.
AUTHENTICATION_BACKENDS = [
    "bookdesk.accounts.backends.ModelBackend",
    "bookdesk.accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# Accounts (django-allauth): email is the login.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory").strip().lower() or "mandatory"
if ACCOUNT_EMAIL_VERIFICATION not in {"mandatory", "optional", "none"}:
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be mandatory, optional or none.")
ACCOUNT_ADAPTER = "bookdesk.accounts.adapter.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{env('BOOKDESK_NAME', 'bookdesk studio')}] "
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# Failed sign-ins: 10 a minute per IP (any account), 5 per 5 minutes per (IP, account) — the adapter puts the
# IP in the key, so wrong passwords from one network never lock the owner out from another.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https://") else "http"
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_ONLY = False
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": f"{SITE_URL}/accounts/confirm-email/{{key}}/",
    "account_reset_password_from_key": f"{SITE_URL}/accounts/password/reset/key/{{key}}/",
    "account_signup": f"{SITE_URL}/accounts/signup/",
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}

# A generic OpenID Connect provider (Clerk, Auth0, Keycloak…), configured purely by environment.
OIDC_SERVER_URL = env("OIDC_SERVER_URL")
if OIDC_SERVER_URL:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": env("OIDC_PROVIDER_ID", "oidc"),
                "name": env("OIDC_NAME", "Single sign-on"),
                "client_id": env("OIDC_CLIENT_ID"),
                "secret": env("OIDC_CLIENT_SECRET"),
                "settings": {
                    "server_url": OIDC_SERVER_URL,
                    "token_auth_method": env("OIDC_TOKEN_AUTH_METHOD", "client_secret_basic"),
                    "scope": env_list("OIDC_SCOPES", "openid,email,profile"),
                },
            }
        ],
    }

# Email: EMAIL_URL (smtp://user:pass@host:port, smtp+tls://…, console:, file:///path).
EMAIL_URL = env("EMAIL_URL", "console:")


def _sender(raw: str, business: str) -> str:
    """The From of every email: "Business Name <address>"; an address given bare gets the business's name."""
    name, address = parseaddr(raw.strip())
    return formataddr((name or business, address or "bookings@localhost"))


# DEFAULT_FROM_EMAIL: "Name <address>" or a bare address (then named after BOOKDESK_NAME).
DEFAULT_FROM_EMAIL = _sender(env("DEFAULT_FROM_EMAIL", "bookings@localhost"), env("BOOKDESK_NAME", "bookdesk studio"))
if EMAIL_URL.startswith(("smtp://", "smtp+tls://", "smtp+ssl://")):
    from urllib.parse import unquote, urlsplit

    _email = urlsplit(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or 25
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme == "smtp+tls"
    EMAIL_USE_SSL = _email.scheme == "smtp+ssl"
    EMAIL_TIMEOUT = 10
elif EMAIL_URL.startswith("file://"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = EMAIL_URL.removeprefix("file://")
elif EMAIL_URL.startswith("locmem:"):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# Stripe (STRIPE_API_BASE empty = real Stripe; the sandbox is http://127.0.0.1:12111).
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "sk_test_bookdesk_sandbox")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", "pk_test_bookdesk_sandbox")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "whsec_bookdesk_sandbox_local")
STRIPE_API_BASE = env("STRIPE_API_BASE", "http://127.0.0.1:12111")

# The business.
BOOKDESK_TIME_ZONE = env("BOOKDESK_TIME_ZONE", "Europe/Berlin")
BOOKDESK_CURRENCY = env("BOOKDESK_CURRENCY", "eur").lower()
BOOKDESK_NAME = env("BOOKDESK_NAME", "bookdesk studio")


def _basis_points(percent: str) -> int:
    """ "19" or "7.5" (percent) → 1900 or 750 basis points, without floats."""
    whole, _, fraction = percent.strip().partition(".")
    return int(whole or 0) * 100 + int((fraction + "00")[:2])


# Checkout: holds, tax and shipping. Money is integer minor units.
HOLD_MINUTES = min(
    max(30, int(env("HOLD_MINUTES", "30"))), 24 * 60 - 5
)  # Stripe: 30 min to 24 h  # also the Checkout Session's lifetime; Stripe's minimum is 30
# The tax rate of a course, service or product without its own (basis points), and of shipping.
TAX_RATE_DEFAULT = _basis_points(env("TAX_RATE_PERCENT", "19"))
PRICES_INCLUDE_TAX = env_bool("PRICES_INCLUDE_TAX", True)
# Goods ship to these countries (ISO codes); the admin's shipping zones price them by weight band.
SHIPPING_COUNTRIES = [
    code.upper()
    for code in env_list("SHIPPING_COUNTRIES", "DE,AT,BE,NL,LU,FR,IT,ES,PT,IE,DK,SE,FI,PL,CZ,GB,CH,NO,US,CA,AU,JP")
]
# The console's attention page lists paid goods not shipped this many hours after payment.
SHIP_WITHIN_HOURS = int(env("SHIP_WITHIN_HOURS", "48"))
# Tracking links by carrier: `{number}` is replaced by the tracking number.
SHIPPING_CARRIERS = {
    "dhl": ("DHL", "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={number}"),
    "dpd": ("DPD", "https://tracking.dpd.de/status/en_US/parcel/{number}"),
    "ups": ("UPS", "https://www.ups.com/track?tracknum={number}"),
    "gls": ("GLS", "https://gls-group.com/track/{number}"),
    "post": ("Deutsche Post", "https://www.deutschepost.de/sendung/simpleQuery.html?form.sendungsnummer={number}"),
}
# Invoices and credit notes (payments/documents.py): the seller as the documents name it, and the numbers
# format (gapless per kind and year; `year` and `number` are filled in). SELLER_ADDRESS: lines split by "|".
SELLER_LEGAL_NAME = env("SELLER_LEGAL_NAME", BOOKDESK_NAME)
SELLER_ADDRESS = [line.strip() for line in env("SELLER_ADDRESS", "").split("|") if line.strip()]
SELLER_VAT_ID = env("SELLER_VAT_ID", "")
INVOICE_NUMBER_FORMAT = env("INVOICE_NUMBER_FORMAT", "INV-{year}-{number:06d}")
CREDIT_NOTE_NUMBER_FORMAT = env("CREDIT_NOTE_NUMBER_FORMAT", "CN-{year}-{number:06d}")


# Unpaid holds cannot block stock: a customer holds at most this many unpaid orders at once (0 = no cap);
# RATE_LIMITS["holds_ip"] caps the orders placed from one IP per window. In production (BOOKDESK_PRODUCTION)
# only a customer whose email is verified checks out.
MAX_UNPAID_ORDERS_PER_CUSTOMER = int(env("MAX_UNPAID_ORDERS_PER_CUSTOMER", "3"))
# A customer may cancel a confirmed course seat or studio slot up to this many hours before it starts,
# and gets this share of the order back (the rest is kept as a fee).
CANCELLATION_CUTOFF_HOURS = int(env("CANCELLATION_CUTOFF_HOURS", "48"))
CANCELLATION_REFUND_PERCENT = min(100, max(0, int(env("CANCELLATION_REFUND_PERCENT", "100"))))
# A license is refundable within this many days of purchase, and never once a file of it was downloaded.
LICENSE_REFUND_DAYS = max(0, int(env("LICENSE_REFUND_DAYS", "14")))
# Emails are retried with backoff, then left dead (visible in the admin) after this many attempts.
EMAIL_MAX_ATTEMPTS = int(env("EMAIL_MAX_ATTEMPTS", "8"))
# Download links in confirmation emails are signed and expire after this many days.
DOWNLOAD_LINK_DAYS = int(env("DOWNLOAD_LINK_DAYS", "7"))
# Webhook events are retried with backoff, then left dead for an operator after this many attempts.
WEBHOOK_MAX_ATTEMPTS = int(env("WEBHOOK_MAX_ATTEMPTS", "8"))
# `bookdesk worker` reconciles with Stripe this often (seconds; 0 = never), over the last RECONCILE_WINDOW_HOURS.
RECONCILE_INTERVAL_SECONDS = int(env("RECONCILE_INTERVAL_SECONDS", "900"))
RECONCILE_WINDOW_HOURS = int(env("RECONCILE_WINDOW_HOURS", "72"))
STRIPE_TIMEOUT = float(env("STRIPE_TIMEOUT", "15"))

LANGUAGE_CODE = "en-us"
# Datetimes shown without an explicit format name their zone (see web/formats/en/formats.py).
FORMAT_MODULE_PATH = ["bookdesk.web.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(DATA_DIR / "static")))
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or env_bool("BOOKDESK_TESTING", False)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# Security.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
_TLS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _TLS
CSRF_COOKIE_SECURE = _TLS
SECURE_HSTS_SECONDS = 31536000 if _TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _TLS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Production refuses to start with DEBUG, a weak SECRET_KEY or the sandbox webhook secret (ops.config).
BOOKDESK_PRODUCTION = env_bool("BOOKDESK_PRODUCTION", False)
# When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env("METRICS_TOKEN")

# Rate limits ("count/seconds") per user or IP, shared through the cache.
RATE_LIMITS = {
    "api": env("RATE_LIMIT_API", "300/60"),
    "checkout": env("RATE_LIMIT_CHECKOUT", "20/60"),
    "checkout_ip": env("RATE_LIMIT_CHECKOUT_IP", "120/60"),
    "auth": env("RATE_LIMIT_AUTH", "30/60"),
    # POST /api/orders/{code}/refresh asks Stripe: per user, and per IP whoever is signed in.
    "order_refresh": env("RATE_LIMIT_ORDER_REFRESH", "10/60"),
    "order_refresh_ip": env("RATE_LIMIT_ORDER_REFRESH_IP", "60/60"),
    # New orders (each holds capacity until paid or lapsed) placed from one IP, per hold period.
    "holds_ip": env("RATE_LIMIT_HOLDS_IP", "10/1800"),
}

NINJA_PAGINATION_PER_PAGE = 20

# Background work: durable rows in our own database (the webhook inbox, the email outbox, the holds),
# written in the business write's transaction and claimed by `bookdesk worker` with SKIP LOCKED.
SWEEP_INTERVAL_SECONDS = int(env("SWEEP_INTERVAL_SECONDS", "10"))
# Each worker writes its heartbeat this often; one silent for WORKER_STALE_SECONDS is flagged (console, /readyz).
WORKER_HEARTBEAT_SECONDS = float(env("WORKER_HEARTBEAT_SECONDS", "5"))
WORKER_STALE_SECONDS = float(env("WORKER_STALE_SECONDS", "60"))
# `bookdesk serve` (the production web server): processes (one per core) × threads serving requests.
WEB_HOST = env("WEB_HOST", "127.0.0.1")
WEB_PORT = int(env("WEB_PORT", "8000"))
# Two processes per core of 16 threads each: a process runs one thread at a time, and 32 threads in one
# lose time handing the GIL around (bench/bench_checkout.py: 2×32 ~101 checkouts/s, 4×16 ~115 on 2 cores).
WEB_WORKERS = int(env("WEB_WORKERS") or 2 * (os.cpu_count() or 1))
WEB_THREADS = int(env("WEB_THREADS", "16"))
# Threads per `bookdesk worker` working the queues: two keep a core busy while one waits for PostgreSQL
# (SQLite runs one writer at a time, so one thread there).
WORKER_THREADS = int(env("WORKER_THREADS") or (1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2))

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "bookdesk.ops.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING" if not DEBUG else "INFO"},
        # One line per request from bookdesk.ops.middleware (Django's own request log would duplicate it).
        "bookdesk.access": {"level": env("ACCESS_LOG_LEVEL", "INFO")},
        # The stripe SDK logs every request at INFO; our gateway logs what matters.
        "stripe": {"level": "WARNING"},
    },
}
