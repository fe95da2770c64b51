"""Settings for every environment, read from environment variables.

Development and the demo run on SQLite with no configuration; production sets
``LUOSHI_ENV=production``, ``DATABASE_URL``, ``SECRET_KEY`` and ``ALLOWED_HOSTS``
(see README, "Running in production").
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LUOSHI_VAR_DIR", BASE_DIR / "var"))

ENVIRONMENT = os.environ.get("LUOSHI_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"

if PRODUCTION:
    SECRET_KEY = os.environ["SECRET_KEY"]
    ALLOWED_HOSTS = os.environ["ALLOWED_HOSTS"].split(",")
else:
    SECRET_KEY = os.environ.get("SECRET_KEY", "luoshi-development-key-not-for-production-use-0123456789")
    ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
DEBUG = os.environ.get("DEBUG", "0" if PRODUCTION else "1") == "1"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "template_partials",
    "luoshi.core",
    "luoshi.orgs",
    "luoshi.audit",
    "luoshi.security",
    "luoshi.ledgers",
    "luoshi.dashboards",
    "luoshi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "luoshi.audit.middleware.AuditContextMiddleware",
]

if PRODUCTION:
    # Production serves collected static files itself; development uses the staticfiles finders.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "luoshi.urls"
WSGI_APPLICATION = "luoshi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "luoshi" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "luoshi.core.context_processors.navigation",
            ],
        },
    }
]


def database_from_url(url: str) -> dict:
    """Turn ``postgres://user:password@host:port/name`` into a Django DATABASES entry."""
    parts = urlparse(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme}://")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "luoshi",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
        # JIT compilation costs hundreds of milliseconds on the screens' aggregate queries and
        # never pays back on short OLTP queries (measured in bench/README.md).
        "OPTIONS": {"options": "-c jit=off"},
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "luoshi.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so
                # two writers queue on busy_timeout instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ledgers:my_work"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "luoshi" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Our own assets and the front-end packages vendored from npm by scripts/vendor_assets.py.
STATICFILES_DIRS = [BASE_DIR / "luoshi" / "static"]
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
# Uploaded evidence lives outside the web root and is only served through a scoped view.
MEDIA_ROOT = Path(os.environ.get("LUOSHI_MEDIA_ROOT", VAR_DIR / "media"))
# No URL serves MEDIA_ROOT: evidence and attachments are only reachable through the scoped, audited
# download views.
MEDIA_URL = "/media-is-not-served/"

# SM4 data keys, MAC keys and the search-index key (luoshi.core.crypto): a file outside the database,
# readable by the service account only. Production must name it; elsewhere it is created on first use.
KEY_FILE = Path(os.environ["LUOSHI_KEY_FILE"]) if "LUOSHI_KEY_FILE" in os.environ else VAR_DIR / "keys.json"
if PRODUCTION and "LUOSHI_KEY_FILE" not in os.environ:
    raise RuntimeError("LUOSHI_KEY_FILE must name the key file in production (see docs/security.md)")

# Evidence files and item attachments: checked by content (luoshi.core.uploads), and how big.
EVIDENCE_MAX_BYTES = int(os.environ.get("LUOSHI_EVIDENCE_MAX_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
