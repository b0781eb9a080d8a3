"""The default database connection as django-tenants makes it: with its tenant, schema_name and set_schema*().

Django types ``django.db.connection`` as a plain database wrapper; this is the same object, typed as
the tenant-aware wrapper ENGINE = django_tenants.postgresql_backend makes it.
"""

from typing import TYPE_CHECKING, cast

from django.db import connection as _connection

if TYPE_CHECKING:
    from django_tenants.postgresql_backend.base import DatabaseWrapper

    from tenants.models import Tenant

connection = cast("DatabaseWrapper", _connection)


def current_tenant() -> "Tenant":
    """The tenant the connection is set to: in a tenant host's request, a tenant's task or tenant_context."""
    tenant = connection.tenant
    if tenant is None:
        raise RuntimeError("the database connection is not set to a tenant")
    return cast("Tenant", tenant)


def current_schema() -> str:
    """The schema the connection is set to ("public" outside any tenant)."""
    schema = connection.schema_name
    if schema is None:
        raise RuntimeError("the database connection is not set to a schema")
    return str(schema)
