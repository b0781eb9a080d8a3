"""Database and tenant fixtures.

The test database is created once per run, and so are the two tenants almost every test uses
(alpha and beta, each with its own schema): tests run inside a transaction that is rolled back,
so they never pay for creating a schema unless creating one is what they test.
"""

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.test.utils import setup_databases, teardown_databases
from pytest_django.plugin import DjangoDbBlocker
from rest_framework.test import APIClient

from tenants.db import connection
from tenants.models import Tenant
from tenants.services import tenant_onboard

PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class TenantSetup:
    """A tenant created once per test session, with its admin login and admin API key."""

    slug: str
    host: str
    admin_email: str
    admin_key: str

    @property
    def tenant(self) -> Tenant:
        return Tenant.objects.get(slug=self.slug)  # fresh each time: tests may change the row

    def signed_in(self, email: str | None = None) -> APIClient:
        """A browser signed in to the tenant's portal (as its admin unless `email` says otherwise)."""
        browser = APIClient(HTTP_HOST=self.host)
        response = browser.post("/accounts/login/", {"username": email or self.admin_email, "password": PASSWORD})
        assert response.status_code == 302, response.content
        return browser

    def client(self, key: str | None = None) -> APIClient:
        client = APIClient(HTTP_HOST=self.host)
        if key:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client


@pytest.fixture(scope="session")
def django_db_setup(
    django_test_environment: None, django_db_blocker: DjangoDbBlocker, django_db_keepdb: bool
) -> Iterator[None]:
    """Always sets up the test database (pytest-django only does so when some collected test is marked
    django_db; the worker test is not, since it needs real commits) and the platform's public tenant."""
    with django_db_blocker.unblock():
        # As Django's DiscoverRunner.run_tests() passes them: each alias to set up, mapped to whether a test needs
        # it serialized for serialized_rollback (none does here).
        aliases = {"default": False}
        databases = setup_databases(
            verbosity=0,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases=aliases,
            serialized_aliases={alias for alias, serialize in aliases.items() if serialize},
        )
        assert connection.settings_dict["NAME"].startswith("test_"), "refusing to run tests on a real database"
        call_command("setup_platform", stdout=io.StringIO())
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(databases, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _scratch_media_root() -> Iterator[None]:
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)  # settings_test points it at a temporary folder


@pytest.fixture(scope="session")
def tenant_pair(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> tuple[TenantSetup, TenantSetup]:
    setups = []
    with django_db_blocker.unblock():
        for slug in ("alpha", "beta"):
            result = tenant_onboard(
                name=slug.title(), slug=slug, admin_email=f"admin@{slug}.test", admin_password=PASSWORD
            )
            setups.append(
                TenantSetup(slug=slug, host=result.domain, admin_email=result.admin_email, admin_key=result.api_key)
            )
    return setups[0], setups[1]


@pytest.fixture
def alpha(tenant_pair: tuple[TenantSetup, TenantSetup], db: None) -> TenantSetup:
    return tenant_pair[0]


@pytest.fixture
def beta(tenant_pair: tuple[TenantSetup, TenantSetup], db: None) -> TenantSetup:
    return tenant_pair[1]


@pytest.fixture
def public_client(db: None) -> APIClient:
    return APIClient(HTTP_HOST=settings.BASE_DOMAIN)


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_public_schema() -> Iterator[None]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("switchboard:ratelimit:*", "switchboard:send:*"):  # API limits; senders' schedules and lines
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()
    caches["process"].clear()
    yield
    connection.set_schema_to_public()
