"""Settings, read from the environment.

Every knob an operator may turn is an environment variable with a safe default, so that the
embedded demo needs none and a production deployment sets a handful:

- ``QUANZI_HOME``: data folder (SQLite file, generated secret key, collected files).
  Default ``~/.quanzi``; never inside the source tree.
- ``DATABASE_URL``: ``postgres://user@host:5432/name`` or ``sqlite:///path``.
  Default: ``sqlite:///$QUANZI_HOME/quanzi.sqlite3``.
- ``QUANZI_PROFILE``: ``local`` (default, plain HTTP on 127.0.0.1) or ``production``
  (HTTPS-only cookies, HSTS, redirect; ``manage.py check --deploy`` reports nothing).
- ``QUANZI_DEBUG``: ``1`` to turn Django's debug pages on (never in production).
- ``QUANZI_SECRET_KEY``: overrides the key generated into ``$QUANZI_HOME/secret_key``.
- ``QUANZI_ALLOWED_HOSTS``: comma-separated host names.
- ``QUANZI_BROKER_URL``: a Redis (or RabbitMQ) URL; when set, Celery runs the jobs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import plotly
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a yes/no value; use 1 or 0.")


def _home() -> Path:
    home = Path(os.environ.get("QUANZI_HOME") or Path.home() / ".quanzi").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _kept_key(home: Path, env: str, filename: str) -> str:
    """The key from the environment, or one generated once and kept in the data folder.

    Several server processes may start at once on a fresh folder: O_EXCL makes exactly one of
    them write the key, and the others read what it wrote.
    """
    from_env = os.environ.get(env)
    if from_env:
        return from_env
    path = home / filename
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            import time

            time.sleep(0.05)
        raise ImproperlyConfigured(f"{path} is empty; delete it and start again.") from None
    key = secrets.token_urlsafe(64)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _database(home: Path) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{home / 'quanzi.sqlite3'}"
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except Exception as exc:  # dj-database-url raises several kinds for a bad URL
        raise ImproperlyConfigured(
            f"DATABASE_URL is malformed ({exc}); expected postgres://USER@HOST:5432/NAME "
            "or sqlite:///PATH"
        ) from None
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        if not config.get("NAME"):
            raise ImproperlyConfigured("DATABASE_URL names no SQLite file; use sqlite:///PATH")
        config["OPTIONS"] = {
            # BEGIN IMMEDIATE: a writer takes the write lock at the start of its transaction,
            # so two writers queue instead of failing with "database is locked" mid-way.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif engine == "django.db.backends.postgresql":
        if not config.get("NAME"):
            raise ImproperlyConfigured("DATABASE_URL names no PostgreSQL database")
        config["CONN_MAX_AGE"] = int(os.environ.get("QUANZI_CONN_MAX_AGE", "60"))
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured(
            f"DATABASE_URL uses {engine or 'an unknown engine'}; "
            "Quanzi runs on PostgreSQL or SQLite"
        )
    config.setdefault("TEST", {})
    return config


QUANZI_HOME = _home()
PROFILE = os.environ.get("QUANZI_PROFILE", "local").strip().lower()
if PROFILE not in {"local", "production"}:
    raise ImproperlyConfigured(f"QUANZI_PROFILE={PROFILE!r}; use local or production")
PRODUCTION = PROFILE == "production"

DEBUG = _flag("QUANZI_DEBUG") and not PRODUCTION
SECRET_KEY = _kept_key(QUANZI_HOME, "QUANZI_SECRET_KEY", "secret_key")
# Encrypts personal data at rest (phone numbers, WeChat ids) and keys their lookup hashes.
# Separate from SECRET_KEY so that rotating sessions never makes stored phone numbers unreadable.
# Back it up with the database: without it, encrypted personal data cannot be read.
QUANZI_DATA_KEY = _kept_key(QUANZI_HOME, "QUANZI_DATA_KEY", "data_key")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("QUANZI_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("QUANZI_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "quanzi.core",
    "quanzi.members",
    "quanzi.communities",
    "quanzi.catalog",
    "quanzi.payments",
    "quanzi.orders",
    "quanzi.distribution",
    "quanzi.rewards",
    "quanzi.analytics",
    "quanzi.outbox",
    "quanzi.api",
    "quanzi.console",
    "quanzi.h5",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Django's LocaleMiddleware for pages; English for the API unless Accept-Language asks.
    # Before ApiMiddleware, whose own refusals are worded in the request's language too.
    "quanzi.api.middleware.LanguageMiddleware",
    "quanzi.api.middleware.ApiMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "quanzi.urls"
WSGI_APPLICATION = "quanzi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": _database(QUANZI_HOME)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "quanzi_language"
TIME_ZONE = os.environ.get("QUANZI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = QUANZI_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Uploaded files (after-sales evidence photos), served to operators only.
MEDIA_ROOT = QUANZI_HOME / "media"
MEDIA_URL = "/media/"
STATICFILES_DIRS = [("plotly", Path(plotly.__file__ or ".").parent / "package_data")]
# Files are served from the installed packages as they are; no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Operators and API clients share one login: the Django user with is_staff.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_SSL_REDIRECT = _flag("QUANZI_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("QUANZI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Jobs run embedded (``quanzi worker``) unless a broker is configured for Celery.
CELERY_BROKER_URL = os.environ.get("QUANZI_BROKER_URL") or None
CELERY_RESULT_BACKEND = os.environ.get("QUANZI_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

# Idempotency records are kept this long; a client retrying later gets a fresh write.
QUANZI_IDEMPOTENCY_TTL_HOURS = int(os.environ.get("QUANZI_IDEMPOTENCY_TTL_HOURS", "48"))
QUANZI_CURRENCY = os.environ.get("QUANZI_CURRENCY", "CNY")
# The rollup job folds only rows recorded at least this long ago: ids are handed out at insert
# but become visible at commit, so a younger row may still have an uncommitted one before it.
QUANZI_ROLLUP_SETTLE_SECONDS = int(os.environ.get("QUANZI_ROLLUP_SETTLE_SECONDS", "60"))
# Phone numbers without a country code are read as numbers of this region.
QUANZI_PHONE_REGION = os.environ.get("QUANZI_PHONE_REGION", "CN")

# Lifecycle stages (DESIGN.md: customer -> user -> fan -> iron fan) and growth levels
# (novice -> seed -> core -> KOL), computed from the activity log. Operators tune the numbers.
QUANZI_LIFECYCLE = {
    "user_min_paid_orders": 2,  # user: this many paid orders, or ...
    "user_active_weeks": 4,  # ... active in this many of the last `window_weeks` weeks
    "window_weeks": 8,
    "fan_min_referrals": 1,  # fan: a user who referred someone, or ...
    "fan_min_contributions": 1,  # ... contributed (posts, adopted feedback)
    "iron_fan_recent_days": 14,  # iron fan: a fan in a core group, active this recently,
    "iron_fan_min_paid_orders": 2,  # and a repeat buyer
    "seed_active_weeks": 2,  # seed: active in this many of the last `window_weeks` weeks
    "core_active_weeks": 6,  # core: active this many weeks, or sits in a core-fans group
    "core_min_contributions": 5,  # ... or contributed this often
}

# Commerce. Unpaid orders release their stock after this many minutes; shipped orders count
# as received this many days after delivery (or after shipping, when delivery is not reported).
QUANZI_ORDER_EXPIRY_MINUTES = int(os.environ.get("QUANZI_ORDER_EXPIRY_MINUTES", "30"))
QUANZI_AUTO_RECEIVE_DAYS = int(os.environ.get("QUANZI_AUTO_RECEIVE_DAYS", "10"))
# The provider new orders pay through: "manual" (offline transfer an operator confirms) unless
# WeChat Pay is configured (QUANZI_WECHATPAY_* variables) and chosen here.
QUANZI_PAYMENT_PROVIDER = os.environ.get("QUANZI_PAYMENT_PROVIDER", "manual")
# Shown to members paying by transfer (bank, account, who to message with the receipt).
QUANZI_MANUAL_PAYMENT_INSTRUCTIONS = os.environ.get("QUANZI_MANUAL_PAYMENT_INSTRUCTIONS", "")
