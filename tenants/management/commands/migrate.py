# django-tenants turns `migrate` into `migrate_schemas`; keep that, with our faster migrate_schemas.
from tenants.management.commands.migrate_schemas import Command

__all__ = ["Command"]
