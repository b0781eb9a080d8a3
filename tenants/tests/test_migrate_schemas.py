import io

import pytest
from django.core.management import call_command

from tenants.db import connection
from tenants.schema_template import schemas_with_pending_migrations
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def forget_migration(schema: str, app: str, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])


def has_migration(schema: str, app: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{schema}".django_migrations WHERE app = %s AND name = %s', [app, name])
        return cursor.fetchone() is not None


def test_up_to_date_schemas_are_skipped(alpha: TenantSetup, beta: TenantSetup) -> None:
    out = io.StringIO()

    call_command("migrate_schemas", interactive=False, stdout=out)

    assert "public: nothing to apply" in out.getvalue()
    assert "with migrations to apply: 0" in out.getvalue()


def test_only_the_schema_with_a_pending_migration_is_migrated(
    alpha: TenantSetup, beta: TenantSetup, capsys: pytest.CaptureFixture[str]
) -> None:
    # Forget a migration and drop its table, as if it had been added to the code after this tenant was created.
    forget_migration("t_beta", "sessions", "0001_initial")
    assert schemas_with_pending_migrations(["t_alpha", "t_beta"]) == ["t_beta"]

    out = io.StringIO()
    with connection.cursor() as cursor:
        cursor.execute('DROP TABLE "t_beta".django_session')
    call_command("migrate_schemas", interactive=False, stdout=out)

    assert "with migrations to apply: 1" in out.getvalue()
    assert "Applying sessions.0001_initial... OK" in out.getvalue()
    progress = capsys.readouterr().out  # django-tenants prefixes each migrated schema's lines
    assert "standard:t_beta" in progress and "t_alpha" not in progress
    assert has_migration("t_beta", "sessions", "0001_initial")
    assert schemas_with_pending_migrations(["t_alpha", "t_beta"]) == []


def test_schema_without_migration_table_counts_as_pending(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA t_empty_probe")
    assert schemas_with_pending_migrations(["t_empty_probe"]) == ["t_empty_probe"]
