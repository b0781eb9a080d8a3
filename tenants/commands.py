"""Shared pieces of management commands that act on one customer tenant."""

from django.core.management.base import CommandError
from django_tenants.utils import get_public_schema_name

from tenants.models import Tenant
from tenants.selectors import tenant_by_slug


def customer_tenant_or_error(slug: str) -> Tenant:
    """The tenant with this slug; CommandError for an unknown slug or the platform's own public tenant."""
    tenant = tenant_by_slug(slug=slug)
    if tenant is None:
        raise CommandError(f"No tenant with the slug '{slug}'.")
    if tenant.schema_name == get_public_schema_name():
        raise CommandError("The platform's public tenant holds no customer data; name a customer tenant.")
    return tenant
