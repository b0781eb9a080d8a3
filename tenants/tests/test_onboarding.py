import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_tenants.utils import schema_context, schema_exists

from tenants.accounts.models import User
from tenants.db import connection
from tenants.models import ApiKey, Domain, PooledSchema, Tenant
from tenants.schema_template import ensure_template, pooled_schema_names, refill_schema_pool, template_schema_name
from tenants.services import tenant_onboard
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def applied_migrations(schema: str) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name, applied::text FROM "{schema}".django_migrations ORDER BY app, name')
        return cursor.fetchall()


def test_onboarding_creates_schema_domain_admin_and_working_key(tenant_pair: tuple[TenantSetup, TenantSetup]) -> None:
    result = tenant_onboard(
        name="Acme Corp", slug="acme", admin_email="Boss@Acme.test", admin_password="s3cret-pass-word"
    )

    assert result.tenant.schema_name == "t_acme"
    assert schema_exists("t_acme")
    assert Domain.objects.get(tenant=result.tenant).domain == "acme.localhost"
    with schema_context("t_acme"):
        admin = User.objects.get()
        assert (admin.email, admin.role) == ("boss@acme.test", "admin")
        assert admin.check_password("s3cret-pass-word")
    with schema_context("public"):
        assert not User.objects.filter(email="boss@acme.test").exists()

    client = TenantSetup(slug="acme", host="acme.localhost", admin_email=result.admin_email, admin_key=result.api_key)
    response = client.client(result.api_key).get("/api/v1/tenant/")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"


def test_new_schema_is_a_clone_of_the_template_not_a_fresh_migration() -> None:
    ensure_template()
    tenant_onboard(name="Clone", slug="clone-check", admin_email="a@clone.test")

    # Cloning copies the template's migration records, timestamps included; migrating would write new ones.
    assert applied_migrations("t_clone_check") == applied_migrations(template_schema_name())


def test_onboarding_takes_a_ready_schema_from_the_pool() -> None:
    PooledSchema.objects.all().delete()
    assert refill_schema_pool(size=2) == 2
    pooled = pooled_schema_names()

    result = tenant_onboard(name="Pooled", slug="pooled", admin_email="a@pool.test")

    assert pooled_schema_names() == pooled[1:]
    assert not schema_exists(pooled[0]) and schema_exists(result.tenant.schema_name)
    with schema_context(result.tenant.schema_name):
        assert User.objects.get().email == "a@pool.test"


def test_stale_pooled_schemas_are_dropped_not_used() -> None:
    PooledSchema.objects.all().delete()
    refill_schema_pool(size=1)
    (stale,) = pooled_schema_names()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM \"{stale}\".django_migrations WHERE app = 'accounts'")

    result = tenant_onboard(name="Fresh", slug="fresh", admin_email="a@fresh.test")

    assert not schema_exists(stale) and pooled_schema_names() == []
    assert ("accounts", "0001_initial") in {(a, n) for a, n, _ in applied_migrations(result.tenant.schema_name)}


def test_missing_template_is_rebuilt_before_cloning() -> None:
    PooledSchema.objects.all().delete()  # an empty pool: onboarding clones the template on the spot
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{template_schema_name()}" CASCADE')

    result = tenant_onboard(name="After drop", slug="after-drop", admin_email="a@drop.test")

    assert schema_exists(template_schema_name())
    with schema_context(result.tenant.schema_name):
        assert User.objects.count() == 1


def test_stale_template_is_rebuilt() -> None:
    ensure_template()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM \"{template_schema_name()}\".django_migrations WHERE app = 'accounts' AND name = '0001_initial'"
        )

    assert ensure_template() is True
    assert ("accounts", "0001_initial") in {(app, name) for app, name, _ in applied_migrations(template_schema_name())}
    assert ensure_template() is False


@pytest.mark.parametrize(
    ("slug", "fragment"),
    [
        ("", "required"),
        ("Acme", "lowercase"),
        ("-acme", "starting and ending"),
        ("acme-", "starting and ending"),
        ("ac--me", "two hyphens"),
        ("ac_me", "lowercase letters, digits and hyphens"),
        ("ac me", "lowercase letters, digits and hyphens"),
        ("a" * 41, "at most 40"),
        ("www", "reserved"),
        ("api", "reserved"),
        ("admin", "reserved"),
        ("public", "reserved"),
    ],
)
def test_bad_slugs_are_refused_with_a_clear_message(slug: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as refused:
        tenant_onboard(name="Bad", slug=slug, admin_email="a@bad.test")

    messages = refused.value.message_dict["slug"]
    assert any(fragment in message for message in messages), messages
    assert not Tenant.objects.filter(name="Bad").exists()


def test_taken_slug_is_refused(alpha: TenantSetup) -> None:
    with pytest.raises(ValidationError) as refused:
        tenant_onboard(name="Again", slug="alpha", admin_email="a@again.test")
    assert "already exists" in refused.value.message_dict["slug"][0]


def test_failed_onboarding_leaves_nothing_behind() -> None:
    with pytest.raises(ValidationError):
        tenant_onboard(name="Broken", slug="broken", admin_email="not-an-email")

    assert not Tenant.objects.filter(slug="broken").exists()
    assert not Domain.objects.filter(domain="broken.localhost").exists()
    assert not schema_exists("t_broken")


def test_onboard_tenant_command_prints_json() -> None:
    out = io.StringIO()
    call_command("onboard_tenant", "cli-co", "--name", "CLI Co", "--admin-email", "ops@cli.test", stdout=out)

    payload = json.loads(out.getvalue())
    assert {"slug", "domain", "schema", "api_key"} <= payload.keys()
    assert (payload["slug"], payload["domain"], payload["schema"]) == ("cli-co", "cli-co.localhost", "t_cli_co")
    assert payload["set_password_url"].startswith("http://cli-co.localhost:8000/accounts/set-password/")
    stored = ApiKey.objects.get(tenant__slug="cli-co")
    assert stored.key_hash == ApiKey.hash_secret(payload["api_key"])


def test_onboard_tenant_command_exists_ok_issues_a_fresh_key(alpha: TenantSetup) -> None:
    out = io.StringIO()
    call_command("onboard_tenant", "alpha", "--admin-email", alpha.admin_email, "--exists-ok", stdout=out)

    payload = json.loads(out.getvalue())
    assert payload["existing"] is True
    assert alpha.client(payload["api_key"]).get("/api/v1/tenant/").status_code == 200
