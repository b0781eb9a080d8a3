import hashlib
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

from tenants.accounts.roles import Role
from tenants.validators import validate_tenant_slug


def default_rate_limit() -> int:
    return settings.TENANT_DEFAULT_API_RATE_LIMIT_PER_MINUTE


def default_max_users() -> int:
    return settings.TENANT_DEFAULT_MAX_USERS


def default_max_api_keys() -> int:
    return settings.TENANT_DEFAULT_MAX_API_KEYS


def default_allowed_countries() -> list[str]:
    return list(settings.TENANT_DEFAULT_ALLOWED_COUNTRIES)


def default_max_messages_per_day() -> int:
    return settings.TENANT_DEFAULT_MAX_MESSAGES_PER_DAY


def default_max_calls_per_day() -> int:
    return settings.TENANT_DEFAULT_MAX_CALLS_PER_DAY


class Tenant(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=40, unique=True, validators=[validate_tenant_slug])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    suspended_reason = models.CharField(max_length=500, blank=True)
    api_rate_limit_per_minute = models.PositiveIntegerField(default=default_rate_limit, help_text="0 means unlimited.")
    max_users = models.PositiveIntegerField(default=default_max_users)
    max_api_keys = models.PositiveIntegerField(default=default_max_api_keys)
    allowed_countries = models.JSONField(
        default=default_allowed_countries, blank=True, help_text="ISO country codes calls and SMS may go to."
    )
    max_messages_per_day = models.PositiveIntegerField(default=default_max_messages_per_day)
    max_calls_per_day = models.PositiveIntegerField(default=default_max_calls_per_day)
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are created by tenants.schema_template (cloned from a template), never implicitly on save.
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug or self.schema_name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED


class Domain(DomainMixin):
    def __str__(self) -> str:
        return self.domain


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> "ApiKeyQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """Lives in the public schema so a key can be resolved to its tenant; only a hash is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @staticmethod
    def hash_secret(secret: str) -> str:
        # Keys are 256-bit random tokens, so a fast hash is safe: there is nothing to brute-force.
        return hashlib.sha256(secret.encode()).hexdigest()

    def is_usable(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


class PooledSchema(models.Model):
    """A tenant schema made ahead of time from the template, waiting to be renamed into a new tenant's.

    Onboarding takes one (a rename, a few milliseconds) instead of cloning while the user waits; a
    worker tops the pool up again afterwards.
    """

    schema_name = models.CharField(max_length=63, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.schema_name
