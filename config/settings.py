"""Switchboard settings. Every value comes from the environment (see .env.example)."""

import logging
from pathlib import Path

import environ

from config.logs import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost")
# Extra hosts that serve the public schema (load balancer health checks hit an IP, for instance).
PUBLIC_HOST_ALIASES = env.list("PUBLIC_HOST_ALIASES", default=["127.0.0.1"])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}", *PUBLIC_HOST_ALIASES])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("TRUST_X_FORWARDED_PROTO", default=False) else None
)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

SHARED_APPS = [
    # Before django_tenants so that tenants' own migrate_schemas command takes precedence.
    "tenants",
    "django_tenants",
    "tenants.accounts",
    "telephony.registry",
    "billing",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_structlog",
    "sandbox",  # only for `manage.py run_sandbox`: no models, no URLs
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "tenants.accounts",
    "telephony",
    "telephony.inbound",
    "telephony.appointments",
    "voice",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# SET search_path only when a connection changes schema, not before every query.
TENANT_LIMIT_SET_CALLS = True
AUTH_USER_MODEL = "accounts.User"
# Every new tenant schema is cloned from this one; it is kept migrated and rebuilt when stale.
TENANT_TEMPLATE_SCHEMA = env("TENANT_TEMPLATE_SCHEMA", default="tenant_template")
# Schemas cloned ahead of time so onboarding only renames one (0 turns the pool off).
TENANT_SCHEMA_POOL_SIZE = env.int("TENANT_SCHEMA_POOL_SIZE", default=5)

MIDDLEWARE = [
    # Outermost: Twilio gets valid TwiML even when finding the tenant fails (PostgreSQL down).
    "telephony.inbound.fallback.WebhookFallbackMiddleware",
    # django-tenants' TenantMainMiddleware, with the host -> tenant lookup kept a few seconds per process.
    "tenants.middleware.CachedTenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tenants.middleware.SuspendedTenantMiddleware",
]

# The legacy desktop client embeds portal pages in an iframe: list its origins here.
PORTAL_FRAME_ANCESTORS = env.list("PORTAL_FRAME_ANCESTORS", default=[])
SECURE_CSP = {"frame-ancestors": ["'self'", *PORTAL_FRAME_ANCESTORS]}

ROOT_URLCONF = "config.urls_tenants"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
WSGI_APPLICATION = "config.wsgi.application"

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
                "tenants.context_processors.portal_key_query",
                "tenants.context_processors.portal_roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/switchboard")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Cache keys carry the schema name so one tenant can never read another's entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
    },
    # In the process's own memory, for values read very often that may be a few seconds stale.
    # Room for a few entries per tenant (webhooks keep a tenant's host, token, number settings...): at the default
    # of 300 entries, a few hundred tenants' traffic would keep pushing each other out.
    "process": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "switchboard-process",
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal-home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# EMAIL_URL: consolemail:// (development), smtp+tls://user:password@host:587, ... (django-environ's
# email_url). For filemail://, EMAIL_FILE_PATH names the folder (the URL form cannot hold an absolute path).
_email = env.email_url("EMAIL_URL", default="consolemail://")
_email["EMAIL_FILE_PATH"] = env("EMAIL_FILE_PATH", default=_email.get("EMAIL_FILE_PATH"))
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            option.lower(): _email[key]
            for key, option in [
                ("EMAIL_HOST", "HOST"),
                ("EMAIL_PORT", "PORT"),
                ("EMAIL_HOST_USER", "USERNAME"),
                ("EMAIL_HOST_PASSWORD", "PASSWORD"),
                ("EMAIL_USE_TLS", "USE_TLS"),
                ("EMAIL_USE_SSL", "USE_SSL"),
                ("EMAIL_FILE_PATH", "FILE_PATH"),
            ]
            if _email.get(key)
        },
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"Switchboard <no-reply@{BASE_DOMAIN}>")

# Secrets at rest: comma-separated Fernet keys, newest first. Older keys still decrypt.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")

# Limits a new tenant starts with (plans adjust them per tenant).
TENANT_DEFAULT_API_RATE_LIMIT_PER_MINUTE = env.int("TENANT_DEFAULT_API_RATE_LIMIT_PER_MINUTE", default=600)
TENANT_DEFAULT_MAX_USERS = env.int("TENANT_DEFAULT_MAX_USERS", default=25)
TENANT_DEFAULT_MAX_API_KEYS = env.int("TENANT_DEFAULT_MAX_API_KEYS", default=20)
TENANT_DEFAULT_ALLOWED_COUNTRIES = env.list("TENANT_DEFAULT_ALLOWED_COUNTRIES", default=["US", "CA"])
TENANT_DEFAULT_MAX_MESSAGES_PER_DAY = env.int("TENANT_DEFAULT_MAX_MESSAGES_PER_DAY", default=10_000)
TENANT_DEFAULT_MAX_CALLS_PER_DAY = env.int("TENANT_DEFAULT_MAX_CALLS_PER_DAY", default=2_000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.RolePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.throttling.TenantRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "config.rest.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.rest.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Voice and SMS on Twilio, per tenant. Authenticate with an API key.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TwilioAccountKindEnum": "telephony.registry.models.TwilioAccount.Kind",
        "SenderKindEnum": "telephony.models.SenderNumber.Kind",
        "RecordingStatusEnum": "telephony.inbound.models.Recording.Status",
        "CallFlowKindEnum": "telephony.inbound.models.CallFlow.Kind",
    },
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery closes a worker's database connections around every task unless told to reuse them; reused,
# they are still closed when unusable or older than CONN_MAX_AGE (config/celery.py).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# tenant-schemas-celery may keep a schema's tenant this long rather than read it for every task.
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# A message a worker holds unacknowledged for longer than this (it died with it) goes to another worker.
# No task waits in a worker for more than a minute (telephony.scheduling), so this can be short.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=180),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULE = {
    "release-scheduled-communications": {"task": "telephony.tasks.release_scheduled_communications", "schedule": 5.0},
    "release-sender-lines": {"task": "telephony.tasks.release_sender_lines", "schedule": 1.0},
    "requeue-stalled-communications": {"task": "telephony.tasks.requeue_stalled_communications", "schedule": 60.0},
    "verify-pending-senders": {"task": "telephony.tasks.verify_pending_senders", "schedule": 300.0},
    "refill-tenant-schema-pool": {"task": "tenants.tasks.refill_tenant_schema_pool", "schedule": 60.0},
    "release-due-reminders": {"task": "telephony.appointments.tasks.release_due_reminders", "schedule": 30.0},
    "fetch-prices": {"task": "telephony.tasks.fetch_prices", "schedule": 60.0},
    "replay-spooled-webhooks": {"task": "telephony.inbound.tasks.replay_spooled_webhooks", "schedule": 30.0},
    "delete-expired-recordings": {"task": "telephony.inbound.tasks.delete_expired_recordings", "schedule": 86400.0},
}

# Structured logs (config/logs.py): JSON lines in production, readable lines in development.
LOG_FORMAT = env("LOG_FORMAT", default="console" if DEBUG else "json")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))
configure_structlog()
# django-structlog: a request_id per request (logged once it is answered), a task_id per Celery task. What a
# task did is the task's own log's to say, so the per-task lines (every second for beat's housekeeping) stay
# at DEBUG; retries and failures are still warnings and errors.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_CELERY_DEFAULT_LOG_LEVEL = logging.DEBUG
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
DJANGO_STRUCTLOG_USER_ID_FIELD = "pk"
# Celery would otherwise replace LOGGING's handlers with its own plain ones.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# How tenant URLs are written in emails and command output (http://demo.localhost:8000).
SITE_SCHEME = env("SITE_SCHEME", default="http")
SITE_PORT = env("SITE_PORT", default="8000")
# How workers reach the web servers (e.g. http://web:8000 in compose); empty: through the public URLs.
WEB_INTERNAL_URL = env("WEB_INTERNAL_URL", default="")


MEDIA_ROOT = str(BASE_DIR / env("MEDIA_ROOT", default="var/media"))  # relative to the project, or absolute
MEDIA_URL = "/media/"
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"  # each tenant's files live under MEDIA_ROOT/<schema>/
VOICE_FILE_MAX_BYTES = env.int("VOICE_FILE_MAX_BYTES", default=10 * 1024 * 1024)
# sandbox (default: the built-in Twilio sandbox at TWILIO_SANDBOX_URL) or live (api.twilio.com).
TWILIO_MODE = env("TWILIO_MODE", default="sandbox")
TWILIO_SANDBOX_URL = env("TWILIO_SANDBOX_URL", default="http://127.0.0.1:8099")
# The twilio-python HTTP client that sends Twilio's URLs to TWILIO_SANDBOX_URL in sandbox mode.
TWILIO_SANDBOX_HTTP_CLIENT = "sandbox.twilio.client.SandboxHttpClient"
# The platform's master account; tenants get subaccounts under it. In sandbox mode the defaults are the
# ones `manage.py run_sandbox` serves, so leaving them out cannot make the two disagree.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="AC" + "0" * 32)
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="sandbox-auth-token" if TWILIO_MODE == "sandbox" else "")
