"""Secrets at rest (Twilio auth tokens, provider API keys).

Values are encrypted with MultiFernet over FIELD_ENCRYPTION_KEYS: the first key encrypts, every
listed key decrypts. To rotate, put a new key first, run `manage.py rotate_secrets`, then drop the
old key from the list.
"""

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class SecretDecryptionError(Exception):
    """The stored value was not encrypted with any of the configured keys."""


@cache
def _fernet() -> MultiFernet:
    keys = [key for key in settings.FIELD_ENCRYPTION_KEYS if key]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must list at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key.") from exc


def reset_key_cache() -> None:
    _fernet.cache_clear()


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError("Secret cannot be decrypted with the configured keys.") from exc


def rotate_secret(token: str) -> str:
    """Re-encrypts under the newest key; a token already under it comes back re-encrypted too."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError("Secret cannot be decrypted with the configured keys.") from exc


class EncryptedTextField(models.TextField):
    """A text column whose database value is a Fernet token; Python code only ever sees plaintext."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return value if not value else decrypt_secret(value)  # "" and None are stored as they are

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_secret(value)
