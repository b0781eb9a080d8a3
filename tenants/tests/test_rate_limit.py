import pytest

from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def limit_tenant(setup: TenantSetup, per_minute: int) -> None:
    tenant = setup.tenant
    tenant.api_rate_limit_per_minute = per_minute
    tenant.save()


def test_requests_over_the_limit_get_429_with_retry_after(alpha: TenantSetup) -> None:
    limit_tenant(alpha, 3)
    client = alpha.client(alpha.admin_key)

    statuses = [client.get("/api/v1/tenant/").status_code for _ in range(3)]
    throttled = client.get("/api/v1/tenant/")

    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled.json()["status"] == 429
    assert throttled["Content-Type"] == "application/problem+json"


def test_limits_are_counted_per_tenant(alpha: TenantSetup, beta: TenantSetup) -> None:
    limit_tenant(alpha, 2)
    limit_tenant(beta, 2)
    alpha_client, beta_client = alpha.client(alpha.admin_key), beta.client(beta.admin_key)

    for _ in range(2):
        assert alpha_client.get("/api/v1/tenant/").status_code == 200
    assert alpha_client.get("/api/v1/tenant/").status_code == 429

    assert [beta_client.get("/api/v1/tenant/").status_code for _ in range(2)] == [200, 200]
    assert beta_client.get("/api/v1/tenant/").status_code == 429


def test_each_tenant_has_its_own_configured_limit(alpha: TenantSetup, beta: TenantSetup) -> None:
    limit_tenant(alpha, 1)
    limit_tenant(beta, 5)

    alpha_statuses = [alpha.client(alpha.admin_key).get("/api/v1/tenant/").status_code for _ in range(5)]
    beta_statuses = [beta.client(beta.admin_key).get("/api/v1/tenant/").status_code for _ in range(5)]

    assert alpha_statuses == [200, 429, 429, 429, 429]
    assert beta_statuses == [200] * 5


def test_zero_means_unlimited(alpha: TenantSetup) -> None:
    limit_tenant(alpha, 0)
    client = alpha.client(alpha.admin_key)
    assert {client.get("/api/v1/tenant/").status_code for _ in range(20)} == {200}
