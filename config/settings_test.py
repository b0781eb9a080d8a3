"""Test settings: the real services, on their own Redis database, with a fast password hasher."""

import os
import tempfile

from config.settings import *  # noqa: F403
from config.settings import env

# Lets two test runs share a PostgreSQL server (e.g. TEST_DATABASE_NAME=test_switchboard_2).
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=None)}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
# Celery lets a CELERY_BROKER_URL environment variable (perhaps loaded from .env) beat settings:
# tests must never publish to the development broker.
os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Uploaded files go to a scratch folder, never the development media folder.
MEDIA_ROOT = tempfile.mkdtemp(prefix="switchboard-test-media-")
