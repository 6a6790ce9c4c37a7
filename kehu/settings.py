"""Django settings for Kehu.

Everything that differs between machines comes from the environment (see docs/operations.md):

- ``KEHU_ENV``: ``development`` (default), ``test`` or ``production``.
- ``KEHU_VAR_DIR``: where the SQLite database, secret key, uploaded files and collected static files live
  (default ``var/`` in the checkout).
- ``DATABASE_URL``: a PostgreSQL URL (``postgres://user:pass@host:5432/kehu``); SQLite in ``var/`` when unset.
- ``KEHU_SECRET_KEY``: the secret key; when unset it is generated once into ``var/secret_key``.
- ``KEHU_ALLOWED_HOSTS``, ``KEHU_CSRF_TRUSTED_ORIGINS``: comma-separated, for production.
- ``KEHU_FILES_DIR``: content-addressed attachment store (default ``var/files``).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
# Under pytest the settings are imported before any conftest runs, so the test environment is detected here.
KEHU_ENV = os.environ.get("KEHU_ENV") or ("test" if "pytest" in sys.modules else "development")
PRODUCTION = KEHU_ENV == "production"
TESTING = KEHU_ENV == "test"

VAR_DIR = Path(os.environ.get("KEHU_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = os.environ.get("KEHU_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("KEHU_DEBUG", "0" if PRODUCTION else "1") == "1" and not TESTING

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("KEHU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("KEHU_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
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
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "kehu.core",
    "kehu.core.policies",
    "kehu.core.jobs",
    "kehu.workflow",
    "kehu.customers",
    "kehu.onboarding",
    "kehu.credit",
    "kehu.limits",
    "kehu.receivables",
    "kehu.grading",
    "kehu.confidential",
    "kehu.orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kehu.core.middleware.UserLanguageMiddleware",
    "kehu.core.middleware.ApiNotFoundMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kehu.core.errorpages.KehuErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kehu.urls"
WSGI_APPLICATION = "kehu.wsgi.application"
ASGI_APPLICATION = "kehu.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kehu" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kehu.core.context_processors.shell",
            ],
        },
    },
]

# --- database ------------------------------------------------
_database_url = os.environ.get("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
    if TESTING and DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Transactional tests are cleaned up with TRUNCATE, which the audit trail's trigger refuses unless the
        # session says so; only the test suite's sessions do (see core migration 0002).
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c kehu.allow_audit_truncate=on"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "kehu.sqlite3"),
            "OPTIONS": {
                # Writers are serialised by BEGIN IMMEDIATE; WAL lets readers run beside the writer.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

# --- auth and security ------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 on purpose is slow; the test suite hashes thousands of passwords. Production keeps Argon2.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 60 * 60 * 10
SESSION_COOKIE_HTTPONLY = True
# Scripts never read the CSRF cookie: base.html hands the token to htmx in hx-headers (and a meta tag).
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# The Django admin (read-only table inspection) is mounted only when asked for.
KEHU_DJANGO_ADMIN = os.environ.get("KEHU_DJANGO_ADMIN", "0") == "1"

# Login throttling: after this many failures for one user name (or one address) within the window,
# further attempts are refused until the lock-out ends.
KEHU_LOGIN_MAX_FAILURES = int(os.environ.get("KEHU_LOGIN_MAX_FAILURES", "5"))
KEHU_LOGIN_WINDOW_MINUTES = int(os.environ.get("KEHU_LOGIN_WINDOW_MINUTES", "15"))
KEHU_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("KEHU_LOGIN_LOCKOUT_MINUTES", "15"))
# Failures from one address (of any user name) that lock the address: high, as a company's staff often share
# one address behind NAT; the per-user-name lock above is the main guard.
KEHU_LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("KEHU_LOGIN_MAX_FAILURES_PER_ADDRESS", "100"))
# Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses).
KEHU_TRUSTED_PROXIES = [
    a.strip() for a in os.environ.get("KEHU_TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if a.strip()
]

if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("KEHU_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("KEHU_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- i18n -----------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
FORMAT_MODULE_PATH = ["kehu.formats"]  # amounts grouped by thousands with commas in Chinese too
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "kehu" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "kehu_language"

# --- static and files ------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic fills it for production; WhiteNoise wants it to exist
STATICFILES_DIRS = [BASE_DIR / "kehu" / "static"]
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
WHITENOISE_USE_FINDERS = not PRODUCTION
KEHU_FILES_DIR = Path(os.environ.get("KEHU_FILES_DIR", VAR_DIR / "files"))
# Attachments: largest file accepted and the content types allowed (by extension and sniffed type).
KEHU_UPLOAD_MAX_BYTES = int(os.environ.get("KEHU_UPLOAD_MAX_BYTES", str(20 * 1024 * 1024)))
KEHU_UPLOAD_EXTENSIONS = [
    ".pdf",
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".txt",
    ".csv",
    ".zip",
    ".ofd",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- background jobs ------------------------------------------------
# The queue: the database (default, worker "db_worker") or Redis (KEHU_TASKS_BACKEND=rq, worker "rqworker").
# ``python -m kehu serve`` starts KEHU_WORKER_COMMAND beside the web server; it runs the periodic scheduler too.
KEHU_TASKS_BACKEND = os.environ.get("KEHU_TASKS_BACKEND", "db")
KEHU_REDIS_URL = os.environ.get("KEHU_REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {"default": {"URL": KEHU_REDIS_URL, "DEFAULT_TIMEOUT": 6 * 60 * 60}}
if KEHU_TASKS_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
KEHU_WORKER_COMMAND = ["worker"]
# A job still "running" after this many minutes is taken as interrupted (its worker died) and may be retried.
KEHU_JOB_STALE_MINUTES = int(os.environ.get("KEHU_JOB_STALE_MINUTES", "120"))
# Seconds between two passes of the periodic scheduler.
KEHU_SCHEDULER_INTERVAL = float(os.environ.get("KEHU_SCHEDULER_INTERVAL", "20"))

# --- logging ------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KEHU_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
