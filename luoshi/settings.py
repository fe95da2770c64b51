"""Settings for every environment, read from environment variables.

Development and the demo run on SQLite with no configuration; production sets
``LUOSHI_ENV=production``, ``DATABASE_URL``, ``SECRET_KEY`` and ``ALLOWED_HOSTS``
(see README, "Running in production").
"""

import datetime as dt
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from csp.constants import NONCE
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
    # Before django.contrib.auth, so that its createsuperuser is replaced by one that refuses (三员分立).
    "luoshi.orgs",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "django_filters",
    "django_tables2",
    "template_partials",
    # Not its otp_totp/otp_static plugins, which keep secrets in clear: luoshi.twofactor.models.
    "django_otp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "luoshi.core",
    "luoshi.audit",
    "luoshi.security",
    "luoshi.twofactor",
    "luoshi.ledgers",
    "luoshi.notifications",
    "luoshi.supervision",
    "luoshi.assessment",
    "luoshi.dashboards",
    "luoshi.exchange",
    "luoshi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before the session rules, which tell a timed-out user why they must sign in again.
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Idle timeout and absolute lifetime of a signed-in session (luoshi.security.sessions).
    "luoshi.security.middleware.SessionPolicyMiddleware",
    # Until the second factor is done, only the two-factor pages (luoshi.twofactor.middleware).
    "luoshi.twofactor.middleware.TwoFactorMiddleware",
    # Then, until an expired or admin-set password is changed, only the 修改密码 page.
    "luoshi.security.middleware.PasswordChangeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "luoshi.audit.middleware.AuditContextMiddleware",
    # Turns a sign-in refused for lockout into the sign-in page saying until when (AXES_LOCKOUT_CALLABLE).
    # Axes asks to be last; it only rewrites the response, and the sign-in form carries no
    # submission token, so it sits just outside the idempotency middleware, which must be innermost.
    "axes.middleware.AxesMiddleware",
    # Keep last: a form's one-time token is claimed together with the write (luoshi.core.idempotency).
    "luoshi.core.idempotency.IdempotencyMiddleware",
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
                "luoshi.notifications.context_processors.unread_notifications",
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


def tasks_from_env(backend: str, redis_url: str) -> dict:
    """The task queue settings (docs/background-work.md): the database by default, Redis through RQ if asked."""
    if backend == "database":
        return {"TASKS": {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}}
    if backend == "rq":
        if not redis_url:
            raise ValueError("LUOSHI_TASK_BACKEND=rq needs LUOSHI_REDIS_URL (redis://host:6379/0)")
        return {
            "TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}},
            "RQ_QUEUES": {"default": {"URL": redis_url, "DEFAULT_TIMEOUT": 3600}},
        }
    raise ValueError(f"LUOSHI_TASK_BACKEND must be database or rq, not {backend}")


# Background work (luoshi.core.jobs, `luoshi worker`): the queue of tasks the workers run.
_tasks = tasks_from_env(
    os.environ.get("LUOSHI_TASK_BACKEND", "database"), os.environ.get("LUOSHI_REDIS_URL", "")
)
TASKS = _tasks["TASKS"]
RQ_QUEUES = _tasks.get("RQ_QUEUES", {})
if RQ_QUEUES:
    INSTALLED_APPS.append("django_rq")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ledgers:my_work"
LOGOUT_REDIRECT_URL = "login"

# Two-factor sign-in (TOTP, docs/sign-in.md): admins and supervisors must enrol, others when the
# security policy says so. LUOSHI_TWO_FACTOR=off is for the demo and the tests only; a system check
# refuses it in production.
TWO_FACTOR_ENFORCED = os.environ.get("LUOSHI_TWO_FACTOR", "on").lower() not in {"off", "0", "false", "no"}
OTP_TOTP_ISSUER = "落实"
OTP_TOTP_THROTTLE_FACTOR = 1  # seconds; doubled after each wrong code (1, 2, 4 … up to an hour)
OTP_STATIC_THROTTLE_FACTOR = 1  # the same for recovery codes

# Optional sign-in through the office's identity provider (OpenID Connect, docs/sign-in.md): on only
# when the client and the provider's endpoints are all set. Accounts and roles stay local.
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT") or None
# RS256 with the provider's published keys when it has a JWKS endpoint; HS256 (the client secret) otherwise.
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256" if OIDC_OP_JWKS_ENDPOINT else "HS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid profile")
OIDC_USERNAME_CLAIM = os.environ.get("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_CREATE_USER = False
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "twofactor:oidc_callback"
OIDC_ENABLED = all(
    (
        OIDC_RP_CLIENT_ID,
        OIDC_RP_CLIENT_SECRET,
        OIDC_OP_AUTHORIZATION_ENDPOINT,
        OIDC_OP_TOKEN_ENDPOINT,
        OIDC_OP_USER_ENDPOINT,
    )
)
# Axes first: it refuses a locked account before any backend checks the password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("luoshi.twofactor.oidc.OIDCBackend")

# Length, character classes and reuse follow the security admin's policy (luoshi.security.validators);
# Django's common-password, similarity and all-digits checks always apply.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "luoshi.security.validators.PolicyLengthValidator"},
    {"NAME": "luoshi.security.validators.CharacterClassValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "luoshi.security.validators.PasswordHistoryValidator"},
]

# Sign-in lockout (django-axes): per username, limits from the security policy, the right password
# refused while locked, failures and lockouts go to our audit trail rather than axes' own logs.
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_FAILURE_LIMIT = "luoshi.security.lockout.failure_limit"
AXES_COOLOFF_TIME = "luoshi.security.lockout.cool_off"
AXES_LOCKOUT_CALLABLE = "luoshi.security.views.lockout_response"
AXES_RESET_ON_SUCCESS = True
# A try while locked does not push the unlock time further out, so the time the page names holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# Axes would like the client address in the lockout key too. 等保 locks the account: failures are
# counted per username whatever address or browser they come from, so rotating them gains nothing.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Sessions end by the policy's idle timeout and lifetime (luoshi.security.sessions); the cookie and
# the stored session never outlive the longest lifetime the policy allows, nor the browser.
SESSION_COOKIE_AGE = 72 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

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
# The largest workbook or CSV a ledger import accepts (luoshi.exchange.workbook.read_table).
EXCHANGE_IMPORT_MAX_BYTES = 50 * 1024 * 1024
# Exports of more item rows than this are rendered by the worker (luoshi.exchange.tasks) and listed
# under 我的导出; the file is kept EXCHANGE_EXPORT_KEEP_DAYS, then removed by exchange.purge_exports.
EXCHANGE_BACKGROUND_EXPORT_ROWS = int(os.environ.get("LUOSHI_BACKGROUND_EXPORT_ROWS", "20000"))
EXCHANGE_EXPORT_KEEP_DAYS = int(os.environ.get("LUOSHI_EXPORT_KEEP_DAYS", "7"))
# The progress briefing's .docx template (luoshi.exchange.briefing): an office's own, or ours.
EXCHANGE_BRIEFING_TEMPLATE = Path(
    os.environ.get("LUOSHI_BRIEFING_TEMPLATE", BASE_DIR / "luoshi" / "exchange" / "docx" / "briefing.docx")
)
# The supervision order's .docx template (luoshi.supervision.documents): an office's own, or ours.
SUPERVISION_ORDER_TEMPLATE = Path(
    os.environ.get("LUOSHI_ORDER_TEMPLATE", BASE_DIR / "luoshi" / "supervision" / "docx" / "order.docx")
)
# The ranking notice's .docx template (luoshi.assessment.documents): an office's own, or ours.
ASSESSMENT_NOTICE_TEMPLATE = Path(
    os.environ.get("LUOSHI_NOTICE_TEMPLATE", BASE_DIR / "luoshi" / "assessment" / "docx" / "notice.docx")
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The browser boundary (docs/architecture.md, "browser boundary"). Lax rather than Strict: a link to an item from the
# office's OA system or an e-mail must open signed in; cross-site POSTs are refused by Lax and by the
# CSRF token all the same.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Scripts take the token from <body hx-headers>, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Nothing inline runs: scripts and styles come from our static files, or carry the per-request nonce
# (request.csp_nonce) in the rare template that needs an inline block. data: images are Tabler's
# check marks and select arrows (SVG in its stylesheet), which cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    # __Host- cookies are only accepted over HTTPS, for Path=/ and without Domain: no other host or
    # path can plant or overwrite them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

# Reliability (docs/operations.md). A form's one-time token (or an API Idempotency-Key) is remembered
# this long: a repeat within it gets the first answer, a later one is a new request.
IDEMPOTENCY_KEY_TTL = dt.timedelta(hours=int(os.environ.get("LUOSHI_IDEMPOTENCY_TTL_HOURS", "24")))
# /healthz: each job's name → the most seconds allowed between its heartbeats (luoshi.core.services.beat).
HEALTHZ_HEARTBEATS = {"refresh_warnings": 26 * 3600, "worker": 10 * 60}
# Whether a stale job fails /healthz (503): on where `luoshi worker` runs (docs/background-work.md).
HEALTHZ_REQUIRE_WORKER = os.environ.get("LUOSHI_HEALTHZ_REQUIRE_WORKER", "0") == "1"
# /healthz fails when the disk of the media files (or of the SQLite database) has less room than this.
# The reverse proxies in front of the app servers (comma-separated addresses): their X-Forwarded-For
# names the client the audit trail records. Unset: REMOTE_ADDR is the client.
TRUSTED_PROXIES = frozenset(filter(None, os.environ.get("LUOSHI_TRUSTED_PROXIES", "").split(",")))

HEALTHZ_MIN_FREE_BYTES = int(os.environ.get("LUOSHI_HEALTHZ_MIN_FREE_MB", "1024")) * 1024 * 1024

# Notifications (docs/notifications.md). E-mail goes through an SMTP server when LUOSHI_EMAIL_HOST is set,
# otherwise to the console (the demo). Links in e-mails and robot posts start with LUOSHI_SITE_URL.
if os.environ.get("LUOSHI_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["LUOSHI_EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("LUOSHI_EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("LUOSHI_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("LUOSHI_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("LUOSHI_EMAIL_USE_TLS", "0") == "1"
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("LUOSHI_EMAIL_FROM", "luoshi@localhost")
SITE_URL = os.environ.get("LUOSHI_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# A delivery that failed this many times is given up (dead) and its robot's managers are told.
NOTIFICATIONS_MAX_ATTEMPTS = int(os.environ.get("LUOSHI_NOTIFICATIONS_MAX_ATTEMPTS", "6"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # Axes warns on every failed sign-in; the audit trail already records them.
    "loggers": {"axes": {"level": "ERROR"}},
}
