import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from tenants.secrets import (
    EncryptedTextField,
    SecretDecryptionError,
    decrypt_secret,
    encrypt_secret,
    reset_key_cache,
    rotate_secret,
)

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(settings):
    def use(*fernet_keys: str) -> None:
        settings.FIELD_ENCRYPTION_KEYS = list(fernet_keys)
        reset_key_cache()

    yield use
    reset_key_cache()


def test_round_trip_and_ciphertext_hides_the_value(keys) -> None:
    keys(NEW_KEY)
    token = encrypt_secret("twilio-auth-token-123")

    assert "twilio-auth-token-123" not in token
    assert decrypt_secret(token) == "twilio-auth-token-123"
    assert encrypt_secret("twilio-auth-token-123") != token  # random IV: equal secrets do not look equal


def test_rotation_reencrypts_under_the_new_key(keys) -> None:
    keys(OLD_KEY)
    old_token = encrypt_secret("provider-key")

    keys(NEW_KEY, OLD_KEY)
    assert decrypt_secret(old_token) == "provider-key"
    rotated = rotate_secret(old_token)

    keys(NEW_KEY)
    assert decrypt_secret(rotated) == "provider-key"
    with pytest.raises(SecretDecryptionError):
        decrypt_secret(old_token)


def test_tampered_or_foreign_tokens_are_refused(keys) -> None:
    keys(OLD_KEY)
    token = encrypt_secret("value")
    keys(NEW_KEY)

    with pytest.raises(SecretDecryptionError):
        decrypt_secret(token)
    with pytest.raises(SecretDecryptionError):
        decrypt_secret("not-a-token")


def test_missing_or_malformed_keys_are_a_configuration_error(keys) -> None:
    keys()
    with pytest.raises(ImproperlyConfigured):
        encrypt_secret("x")
    keys("too-short")
    with pytest.raises(ImproperlyConfigured):
        encrypt_secret("x")


def test_encrypted_field_stores_tokens_and_reads_plaintext(keys) -> None:
    keys(NEW_KEY)
    field = EncryptedTextField()

    stored = field.get_prep_value("AC-secret")

    assert stored != "AC-secret"
    assert field.from_db_value(stored, None, None) == "AC-secret"
    assert field.get_prep_value(None) is None
    assert field.from_db_value(None, None, None) is None
    assert field.get_prep_value("") == "" and field.from_db_value("", None, None) == ""
