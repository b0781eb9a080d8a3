from django.db.models import QuerySet

from tenants.accounts.models import User
from tenants.models import ApiKey, Tenant


def api_key_for_tenant(*, tenant: Tenant, raw_key: str) -> ApiKey | None:
    """The usable key of this tenant matching `raw_key`; a key of any other tenant is as good as none."""
    return (
        ApiKey.objects.usable()
        .select_related("tenant")
        .filter(tenant=tenant, key_hash=ApiKey.hash_secret(raw_key))
        .first()
    )


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant).order_by("-created_at")


def usable_api_key_count(*, tenant: Tenant) -> int:
    return ApiKey.objects.usable().filter(tenant=tenant).count()


def user_list() -> QuerySet[User]:
    """Users of the tenant whose schema is active: the schema is the boundary, no filter needed."""
    return User.objects.order_by("email")


def tenant_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()
