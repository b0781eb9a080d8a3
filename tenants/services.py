import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from telephony.registry.services import twilio_account_request_subaccount
from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.hosts import base_url_for, tenant_domain_for
from tenants.invitations import user_set_password_url
from tenants.models import ApiKey, Domain, Tenant
from tenants.schema_template import create_tenant_schema
from tenants.selectors import usable_api_key_count
from tenants.tasks import refill_tenant_schema_pool, send_invitation_email
from tenants.validators import schema_name_for_slug, validate_tenant_slug

# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class OnboardingResult:
    tenant: Tenant
    domain: str
    admin_email: str
    api_key: str
    set_password_url: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "slug": self.tenant.slug,
            "name": self.tenant.name,
            "domain": self.domain,
            "schema": self.tenant.schema_name,
            "url": base_url_for(self.domain),
            "admin_email": self.admin_email,
            "api_key": self.api_key,
            "set_password_url": self.set_password_url,
        }


def tenant_onboard(*, name: str, slug: str, admin_email: str, admin_password: str | None = None) -> OnboardingResult:
    """Creates a tenant with its schema, domain, first admin user and first admin API key, or nothing at all."""
    slug = slug.strip()
    try:
        validate_tenant_slug(slug)
    except ValidationError as exc:
        raise ValidationError({"slug": exc.messages}) from exc
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"A tenant with the slug '{slug}' already exists."]})
    domain_name = tenant_domain_for(slug)

    with transaction.atomic():
        tenant = Tenant(name=name.strip() or slug, slug=slug, schema_name=schema_name_for_slug(slug))
        tenant.full_clean(exclude=["schema_name"])
        try:
            with transaction.atomic():
                tenant.save()
        except IntegrityError as exc:  # another onboarding took the slug since the check above
            raise ValidationError({"slug": [f"A tenant with the slug '{slug}' already exists."]}) from exc
        create_tenant_schema(tenant.schema_name)
        Domain.objects.create(domain=domain_name, tenant=tenant, is_primary=True)
        with tenant_context(tenant):
            admin = user_create(tenant=tenant, email=admin_email, role=Role.ADMIN, password=admin_password)
            set_password_url = None if admin_password else user_set_password_url(user=admin, tenant=tenant)
        _, raw_key = api_key_create(tenant=tenant, name="Initial admin key", role=Role.ADMIN, created_by=admin.email)
        twilio_account_request_subaccount(tenant=tenant)
        transaction.on_commit(lambda: refill_tenant_schema_pool.delay())
    return OnboardingResult(
        tenant=tenant, domain=domain_name, admin_email=admin.email, api_key=raw_key, set_password_url=set_password_url
    )


def tenant_suspend(*, tenant: Tenant, reason: str = "") -> Tenant:
    tenant.status = Tenant.Status.SUSPENDED
    tenant.suspended_reason = reason
    with schema_context(get_public_schema_name()):
        tenant.save(update_fields=["status", "suspended_reason"])
    return tenant


def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    tenant.status = Tenant.Status.ACTIVE
    tenant.suspended_reason = ""
    with schema_context(get_public_schema_name()):
        tenant.save(update_fields=["status", "suspended_reason"])
    return tenant


def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    role: Role | str,
    created_by: str = "",
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Returns the stored key and its secret; the secret is never stored or retrievable afterwards."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry must be in the future."]})
    if usable_api_key_count(tenant=tenant) >= tenant.max_api_keys:
        raise ValidationError(
            {"non_field_errors": [f"This tenant already has its maximum of {tenant.max_api_keys} active API keys."]}
        )
    prefix = f"sb_{secrets.token_hex(4)}"
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=prefix,
        key_hash=ApiKey.hash_secret(raw_key),
        role=Role(role),
        created_by=created_by,
        expires_at=expires_at,
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def user_create(*, tenant: Tenant, email: str, role: Role | str, name: str = "", password: str | None = None) -> User:
    """Creates a user in the active tenant schema, within the tenant's user limit."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})
    if User.objects.filter(is_active=True).count() >= tenant.max_users:
        raise ValidationError(
            {"non_field_errors": [f"This tenant already has its maximum of {tenant.max_users} users."]}
        )
    user = User(email=email, name=name, role=Role(role))
    user.full_clean(exclude=["password"])
    user.set_password(password)
    user.save()
    return user


def user_invite(*, tenant: Tenant, email: str, role: Role | str, name: str = "") -> User:
    """Creates the user without a password and emails them a link to choose one (from a worker)."""
    user = user_create(tenant=tenant, email=email, role=role, name=name)
    transaction.on_commit(lambda: send_invitation_email.delay(user_id=user.pk))
    return user


def user_deactivate(*, user: User) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user
