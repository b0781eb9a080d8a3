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
    "telephony.numbers",
    "voice",
    "voice.agents",
    "voice.conversations",
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

# --- agents ---
# Whether agents may use the project's fake LLM server (providers "fake", "fake-anthropic"): development, the
# sandbox and tests. Off in a live deployment, where those providers are refused and the default must be real.
LLM_FAKE_ENABLED = env.bool("LLM_FAKE_ENABLED", default=DEBUG or TWILIO_MODE == "sandbox")
# What a call runs with when neither its number nor its tenant names an agent (voice/agents/config.py holds
# the full set of fields; these override them). "fake" is the project's fake LLM server and needs no key; a
# real provider uses the tenant's own key.
AGENT_DEFAULTS = {
    "name": env("AGENT_DEFAULT_NAME", default="Default assistant"),
    "llm_provider": env("AGENT_DEFAULT_LLM_PROVIDER", default="fake" if LLM_FAKE_ENABLED else "openai"),
    "llm_model": env("AGENT_DEFAULT_LLM_MODEL", default="fake-model" if LLM_FAKE_ENABLED else "gpt-4.1-mini"),
    "language": "en-US",
    "tts_provider": "Google",
    "transcription_provider": "Deepgram",
}
# Each process keeps agent configurations in memory and rereads Redis's version key at most this often, so a
# saved change is in use everywhere within this many seconds (plus one Redis read).
AGENT_CONFIG_CHECK_SECONDS = env.float("AGENT_CONFIG_CHECK_SECONDS", default=0.25)

# --- llm ---
# The project's fake LLM server (sandbox/llm, `manage.py run_fake_llm`, started by bin/run): provider "fake"
# reaches it with the openai SDK at LLM_FAKE_BASE_URL/openai/v1, "fake-anthropic" with the anthropic SDK at
# LLM_FAKE_BASE_URL/anthropic. Its lane is the API key sent, so any key works; LLM_FAKE_API_KEY is the default.
LLM_FAKE_BASE_URL = env("LLM_FAKE_BASE_URL", default="http://127.0.0.1:8098")
LLM_FAKE_API_KEY = env("LLM_FAKE_API_KEY", default="fake-llm-key")
# Each request's own timeout (LLMRequest.timeout_seconds) bounds the time to its first token and every gap
# after; connecting to the provider may take at most this much of it.
LLM_CONNECT_TIMEOUT_SECONDS = env.float("LLM_CONNECT_TIMEOUT_SECONDS", default=3.0)
# Where OpenRouter is reached when a tenant's credential names no base URL, and how the platform names itself
# to it (OpenRouter's HTTP-Referer attribution).
LLM_OPENROUTER_BASE_URL = env("LLM_OPENROUTER_BASE_URL", default="https://openrouter.ai/api/v1")
LLM_APP_URL = env("LLM_APP_URL", default=f"{SITE_SCHEME}://{BASE_DOMAIN}")

# --- numbers ---
# Where a bought number's calls, SMS and call statuses go: "tenant" (the tenant's own host) or "public" (the
# public host, which finds the tenant by the number called).
NUMBERS_WEBHOOK_HOST = env("NUMBERS_WEBHOOK_HOST", default="tenant")
# Monthly rental per number, by "<country>:<type>", in NUMBERS_CURRENCY: Twilio's list prices (the REST API the
# platform uses has no price for a number; the Pricing API is not reached). Others cost NUMBERS_DEFAULT_MONTHLY_COST.
NUMBERS_CURRENCY = "USD"
NUMBERS_MONTHLY_COSTS = {
    "US:local": "1.15",
    "US:toll_free": "2.15",
    "CA:local": "1.15",
    "CA:toll_free": "2.15",
    "GB:local": "1.15",
    "GB:mobile": "1.15",
    "GB:toll_free": "2.15",
    "DE:local": "1.15",
    "DE:mobile": "3.00",
    "DE:toll_free": "17.00",
    "AU:local": "3.00",
    "AU:mobile": "6.50",
    "AU:toll_free": "16.00",
}
NUMBERS_DEFAULT_MONTHLY_COST = env("NUMBERS_DEFAULT_MONTHLY_COST", default="2.00")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["PhoneNumberTypeEnum"] = "telephony.numbers.models.PhoneNumber.NumberType"  # type: ignore[index]
CELERY_BEAT_SCHEDULE["resume-stalled-number-work"] = {
    "task": "telephony.numbers.tasks.resume_stalled_number_work",
    "schedule": 120.0,
}

# --- results ---
# Post-call analysis (voice.conversations.analysis): attempts in all when the model's answer is malformed or its
# provider fails for now, the wait before trying a failing provider again (times the attempt), and what each
# attempt may take; all attempts together stay within the minute a task may take.
ANALYSIS_MAX_ATTEMPTS = env.int("ANALYSIS_MAX_ATTEMPTS", default=3)
ANALYSIS_RETRY_DELAY_SECONDS = env.float("ANALYSIS_RETRY_DELAY_SECONDS", default=1.0)
ANALYSIS_MAX_TOKENS = env.int("ANALYSIS_MAX_TOKENS", default=800)
ANALYSIS_TIMEOUT_SECONDS = env.float("ANALYSIS_TIMEOUT_SECONDS", default=15.0)
CELERY_BEAT_SCHEDULE.update(
    {
        # Outbound agent calls that ended unanswered without a status save that told us (a bulk cancel).
        "end-unanswered-agent-calls": {
            "task": "voice.conversations.tasks.end_unanswered_agent_calls",
            "schedule": 60.0,
        },
        # Analyses whose task was lost.
        "resume-stale-analyses": {"task": "voice.conversations.tasks.resume_stale_analyses", "schedule": 300.0},
    }
)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "ConversationStatusEnum": "voice.conversations.models.Conversation.Status",
        "ConversationDirectionEnum": "voice.conversations.models.Conversation.Direction",
        "AnalysisStatusEnum": "voice.conversations.models.ConversationAnalysis.Status",
        "SentimentEnum": "voice.conversations.models.ConversationAnalysis.Sentiment",
        "EndReasonEnum": "voice.conversations.models.Conversation.EndReason",
        "TurnRoleEnum": "voice.conversations.models.Turn.Role",
        # A transcript turn's role made the users' and API keys' role one of two enums named "role".
        "RoleEnum": "tenants.accounts.roles.Role",
    }
)

# --- billing ---
# sandbox (the Stripe double in sandbox/stripe/ at STRIPE_SANDBOX_URL, started by `python -m sandbox.stripe`) or
# live (api.stripe.com). The same stripe library either way; only its base address changes.
STRIPE_MODE = env("STRIPE_MODE", default="sandbox")
STRIPE_SANDBOX_URL = env("STRIPE_SANDBOX_URL", default="http://127.0.0.1:8097")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_sandbox" if STRIPE_MODE == "sandbox" else "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_sandbox" if STRIPE_MODE == "sandbox" else "")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Each Stripe API request's limit (a sync holds the tenant's billing lock while it reads).
STRIPE_REQUEST_TIMEOUT_SECONDS = env.float("STRIPE_REQUEST_TIMEOUT_SECONDS", default=10.0)
# past_due this long -> the tenant is suspended; canceled this long -> its numbers are released.
BILLING_GRACE_PERIOD_DAYS = env.int("BILLING_GRACE_PERIOD_DAYS", default=7)
BILLING_NUMBER_RETENTION_DAYS = env.int("BILLING_NUMBER_RETENTION_DAYS", default=30)
# Auto-provisioning of a plan's numbers: a failed attempt is tried again after this, doubling, up to the maximum.
BILLING_PROVISIONING_RETRY_SECONDS = env.int("BILLING_PROVISIONING_RETRY_SECONDS", default=60)
BILLING_PROVISIONING_RETRY_MAX_SECONDS = env.int("BILLING_PROVISIONING_RETRY_MAX_SECONDS", default=6 * 3600)
# Report each day's minutes and SMS segments to Stripe as meter events (Stripe Billing meters) when on.
BILLING_METERED_REPORTING = env.bool("BILLING_METERED_REPORTING", default=False)
BILLING_METER_EVENT_MINUTES = env("BILLING_METER_EVENT_MINUTES", default="switchboard_minutes")
BILLING_METER_EVENT_SEGMENTS = env("BILLING_METER_EVENT_SEGMENTS", default="switchboard_sms_segments")
CELERY_BEAT_SCHEDULE.update(
    {
        "billing-enforce-subscriptions": {"task": "billing.tasks.enforce_subscriptions", "schedule": 300.0},
        "billing-provision-due": {"task": "billing.tasks.provision_due", "schedule": 60.0},
        "billing-report-usage": {"task": "billing.tasks.report_usage", "schedule": 3600.0},
    }
)

# --- live ---
# Where Twilio opens a call's ConversationRelay socket: {scheme}://{tenant host}[:port]{path}, served by uvicorn
# (`uvicorn config.asgi:application`, started by bin/run). Behind a TLS proxy: wss and no port (0).
CONVERSATION_RELAY_SCHEME = env("CONVERSATION_RELAY_SCHEME", default="wss" if SITE_SCHEME == "https" else "ws")
CONVERSATION_RELAY_PORT = env.int("CONVERSATION_RELAY_PORT", default=8001)
CONVERSATION_RELAY_PATH = "/ws/conversation-relay/"
# What one model answer may take to its first token (and between tokens) before the fallback model is tried.
CONVERSATION_LLM_TIMEOUT_SECONDS = env.float("CONVERSATION_LLM_TIMEOUT_SECONDS", default=8.0)
# How long a conversation's end (`end`, the hand-on to the results) waits for its queued writes to the database.
CONVERSATION_WRITES_TIMEOUT_SECONDS = env.float("CONVERSATION_WRITES_TIMEOUT_SECONDS", default=5.0)
# A bare echo socket at /ws/echo/ on the same server: the baseline of bench/agent_turns.py, off in production.
CONVERSATION_ECHO_SOCKET = env.bool("CONVERSATION_ECHO_SOCKET", default=False)
# A transfer to a human rings this long, then the caller may leave a voicemail of at most this long.
CONVERSATION_TRANSFER_RING_SECONDS = env.int("CONVERSATION_TRANSFER_RING_SECONDS", default=25)
CONVERSATION_VOICEMAIL_SECONDS = env.int("CONVERSATION_VOICEMAIL_SECONDS", default=120)
