"""Where new tenant schemas come from, and which schemas have migrations to apply.

A template schema is kept migrated; it is checked against the migrations on disk before each clone
and rebuilt when missing or stale. Cloning it (tables, indexes, and rows such as django_migrations
and content types) replaces running every migration. Clones are made ahead of time into a small
pool, so onboarding only renames one; with the pool empty, onboarding clones on the spot.
"""

import secrets
from collections.abc import Iterable, Sequence
from functools import cache

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

from tenants.db import connection
from tenants.models import PooledSchema

# pg_advisory_xact_lock key: serialises template rebuilds against clones across processes.
_TEMPLATE_LOCK_ID = 0x5B_7E_3A_1E
_POOL_LOCK_ID = 0x5B_7E_3A_1F
_SCHEMAS_PER_QUERY = 200

MigrationKey = tuple[str, str]


def template_schema_name() -> str:
    return settings.TENANT_TEMPLATE_SCHEMA


def _labels_of(app_modules: Iterable[str]) -> frozenset[str]:
    modules = set(app_modules)
    return frozenset(config.label for config in apps.get_app_configs() if config.name in modules)


@cache
def expected_migrations(*, tenant_side: bool) -> frozenset[MigrationKey]:
    """Every migration on disk for the tenant apps (or the shared apps) that a schema must have applied."""
    labels = _labels_of(settings.TENANT_APPS if tenant_side else settings.SHARED_APPS)
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return frozenset(node for node in graph.nodes if node[0] in labels)


def _quoted(schema_name: str) -> str:
    return connection.ops.quote_name(schema_name)


def schemas_with_pending_migrations(schema_names: Sequence[str], *, tenant_side: bool = True) -> list[str]:
    """The schemas among `schema_names` that lack at least one expected migration, in the given order.

    One query per few hundred schemas, instead of one migration-graph walk per schema.
    """
    expected = expected_migrations(tenant_side=tenant_side)
    if not expected:
        return []
    complete: set[str] = set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_schema FROM information_schema.tables WHERE table_name = 'django_migrations'")
        with_table = {row[0] for row in cursor.fetchall()}
        candidates = [name for name in schema_names if name in with_table]
        pairs = sorted(expected)
        values = ", ".join(["(%s, %s)"] * len(pairs))
        flat_pairs = [part for pair in pairs for part in pair]
        for start in range(0, len(candidates), _SCHEMAS_PER_QUERY):
            chunk = candidates[start : start + _SCHEMAS_PER_QUERY]
            union = " UNION ALL ".join(
                # DISTINCT: django_migrations has no unique constraint, and duplicate rows must not hide a gap.
                f"SELECT %s AS schema_name, count(DISTINCT (app, name)) AS applied FROM {_quoted(name)}.django_migrations "
                f"WHERE (app, name) IN (VALUES {values})"
                for name in chunk
            )
            params: list[str] = []
            for name in chunk:
                params += [name, *flat_pairs]
            cursor.execute(union, params)
            complete.update(name for name, applied in cursor.fetchall() if applied == len(expected))
    return [name for name in schema_names if name not in complete]


def _rebuild_template() -> None:
    name = template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quoted(name)} CASCADE")
        cursor.execute(f"CREATE SCHEMA {_quoted(name)}")
    call_command("migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def template_is_fresh() -> bool:
    name = template_schema_name()
    return schema_exists(name) and not schemas_with_pending_migrations([name])


def ensure_template() -> bool:
    """Rebuilds the template when it is missing or stale. Returns True when it had to be rebuilt."""
    if template_is_fresh():
        return False
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK_ID])
        if template_is_fresh():  # another process rebuilt it while we waited
            return False
        _rebuild_template()
    return True


def clone_template_into(schema_name: str) -> None:
    """Creates `schema_name` as a copy of the template, migration records included (so nothing to fake)."""
    ensure_template()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_TEMPLATE_LOCK_ID])
        CloneSchema().clone_schema(template_schema_name(), schema_name, "DATA", set_connection=False)


def take_pooled_schema_as(schema_name: str) -> bool:
    """Renames a fresh pooled schema to `schema_name`. False when the pool has none to give.

    SKIP LOCKED lets concurrent onboardings each take a different one; a stale one (migrations
    added since it was made) is dropped rather than handed out.
    """
    with transaction.atomic():
        while pooled := PooledSchema.objects.select_for_update(skip_locked=True).order_by("created_at", "id").first():
            pooled.delete()
            with connection.cursor() as cursor:
                if schema_exists(pooled.schema_name) and not schemas_with_pending_migrations([pooled.schema_name]):
                    cursor.execute(f"ALTER SCHEMA {_quoted(pooled.schema_name)} RENAME TO {_quoted(schema_name)}")
                    return True
                cursor.execute(f"DROP SCHEMA IF EXISTS {_quoted(pooled.schema_name)} CASCADE")
    return False


def create_tenant_schema(schema_name: str) -> None:
    """A new tenant's schema: from the pool when it has one, else cloned from the template now."""
    if not take_pooled_schema_as(schema_name):
        clone_template_into(schema_name)


def refill_schema_pool(*, size: int | None = None) -> int:
    """Tops the pool up to `size` (default TENANT_SCHEMA_POOL_SIZE) fresh schemas. Returns how many it made."""
    target = settings.TENANT_SCHEMA_POOL_SIZE if size is None else size
    made = 0
    with connection.cursor() as cursor:
        # One refiller at a time, so two workers don't both fill the same gap. A session lock, so each
        # clone can commit on its own and never holds up an onboarding for the whole refill.
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_POOL_LOCK_ID])
        if not cursor.fetchone()[0]:
            return 0
        try:
            for _ in range(max(target - PooledSchema.objects.count(), 0)):
                name = f"pool_{secrets.token_hex(8)}"
                with transaction.atomic():
                    clone_template_into(name)
                    PooledSchema.objects.create(schema_name=name)
                made += 1
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_POOL_LOCK_ID])
    return made


def pooled_schema_names() -> list[str]:
    return list(PooledSchema.objects.values_list("schema_name", flat=True))
