"""django-tenants' migrate_schemas, but schemas with nothing to apply are skipped without a migrate run.

Deciding that costs one query per few hundred schemas, instead of loading the migration graph and
running `migrate` once per schema. Options that act on specific migrations or tables (an app label,
--fake, --plan, --check, --prune, --run-syncdb, a single --schema) go straight to django-tenants.
"""

from typing import Any

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name, schema_exists

from tenants.db import connection
from tenants.models import Tenant
from tenants.schema_template import pooled_schema_names, schemas_with_pending_migrations, template_schema_name

_PASS_THROUGH_OPTIONS = (
    "app_label",
    "fake",
    "fake_initial",
    "plan",
    "check_unapplied",
    "prune",
    "run_syncdb",
    "schema_name",
)


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        if any(options.get(name) for name in _PASS_THROUGH_OPTIONS):
            super().handle(*args, **options)
            return
        self._setup_sync_options(*args, **options)
        executor = get_executor(codename=self.executor)(self.args, self.options)
        public = get_public_schema_name()
        verbosity = int(options.get("verbosity", 1))

        if self.sync_public:
            if schemas_with_pending_migrations([public], tenant_side=False):
                executor.run_migrations(tenants=[public])
            elif verbosity >= 1:
                self.stdout.write("public: nothing to apply")

        if self.sync_tenant:
            schemas = list(
                Tenant.objects.exclude(schema_name=public).order_by("schema_name").values_list("schema_name", flat=True)
            )
            if schema_exists(template_schema_name()):
                schemas.append(template_schema_name())
            schemas += pooled_schema_names()  # ready-made schemas must not fall behind either
            pending = schemas_with_pending_migrations(schemas)
            if verbosity >= 1:
                self.stdout.write(f"tenant schemas: {len(schemas)}, with migrations to apply: {len(pending)}")
            if pending:
                executor.run_migrations(tenants=pending)
        connection.set_schema_to_public()

    def _setup_sync_options(self, *args: Any, **options: Any) -> None:
        # SyncCommon.handle only records the options (sync_public, sync_tenant, executor, ...).
        super(MigrateSchemasCommand, self).handle(*args, **options)
