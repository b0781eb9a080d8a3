from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.accounts.roles import Role
from tenants.models import ApiKey
from tenants.services import api_key_create, api_key_revoke
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def new_key(setup: TenantSetup, role: Role = Role.ADMIN, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    return api_key_create(tenant=setup.tenant, name=f"{role} key", role=role, expires_at=expires_at)


@pytest.mark.parametrize(
    "send",
    [
        lambda client, key: client.get("/api/v1/tenant/", HTTP_AUTHORIZATION=f"Bearer {key}"),
        lambda client, key: client.get("/api/v1/tenant/", HTTP_X_API_KEY=key),
        lambda client, key: client.get(f"/api/v1/tenant/?apiKey={key}"),
    ],
    ids=["authorization-bearer", "x-api-key", "query-parameter"],
)
def test_every_key_transport_is_accepted(alpha: TenantSetup, send) -> None:
    _, raw_key = new_key(alpha, Role.VIEWER)

    response = send(APIClient(HTTP_HOST=alpha.host), raw_key)

    assert response.status_code == 200
    assert response.json()["slug"] == "alpha"


def test_request_without_key_is_401_problem(alpha: TenantSetup) -> None:
    response = alpha.client().get("/api/v1/tenant/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


@pytest.mark.parametrize("garbage", ["nonsense", "sb_00000000_" + "x" * 43, "Bearer", " "])
def test_unknown_key_is_401(alpha: TenantSetup, garbage: str) -> None:
    response = APIClient(HTTP_HOST=alpha.host).get("/api/v1/tenant/", HTTP_X_API_KEY=garbage)
    assert response.status_code == 401


def test_revoked_key_is_401(alpha: TenantSetup) -> None:
    api_key, raw_key = new_key(alpha)
    assert alpha.client(raw_key).get("/api/v1/tenant/").status_code == 200

    api_key_revoke(api_key=api_key)

    response = alpha.client(raw_key).get("/api/v1/tenant/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_expired_key_is_401(alpha: TenantSetup) -> None:
    api_key, raw_key = new_key(alpha, expires_at=timezone.now() + timedelta(hours=1))
    assert alpha.client(raw_key).get("/api/v1/tenant/").status_code == 200

    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert alpha.client(raw_key).get("/api/v1/tenant/").status_code == 401


def test_key_of_another_tenant_is_401(alpha: TenantSetup, beta: TenantSetup) -> None:
    response = alpha.client(beta.admin_key).get("/api/v1/tenant/")
    assert response.status_code == 401


def test_viewer_key_reads_but_cannot_write(alpha: TenantSetup) -> None:
    _, viewer_key = new_key(alpha, Role.VIEWER)

    assert alpha.client(viewer_key).get("/api/v1/tenant/").status_code == 200
    response = alpha.client(viewer_key).post("/api/v1/api-keys/", {"name": "sneaky"}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == "Your role does not allow this action."


def test_operator_key_cannot_manage_keys_or_users(alpha: TenantSetup) -> None:
    _, operator_key = new_key(alpha, Role.OPERATOR)
    client = alpha.client(operator_key)

    assert client.get("/api/v1/api-keys/").status_code == 403
    assert client.get("/api/v1/users/").status_code == 403
    assert client.post("/api/v1/users/", {"email": "x@alpha.test"}, format="json").status_code == 403


def test_created_key_is_shown_once_and_stored_hashed(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)

    created = client.post("/api/v1/api-keys/", {"name": "CRM", "role": "operator"}, format="json")

    assert created.status_code == 201
    raw_key = created.json()["key"]
    stored = ApiKey.objects.get(pk=created.json()["id"])
    assert raw_key.startswith(stored.prefix + "_")
    assert stored.key_hash == ApiKey.hash_secret(raw_key) != raw_key
    assert not ApiKey.objects.filter(key_hash=raw_key).exists()
    listed = client.get("/api/v1/api-keys/").json()["results"]
    assert all("key" not in item for item in listed)
    assert {item["prefix"] for item in listed} >= {stored.prefix}
    assert alpha.client(raw_key).get("/api/v1/tenant/").status_code == 200


def test_revoking_through_the_api_stops_the_key(alpha: TenantSetup) -> None:
    api_key, raw_key = new_key(alpha, Role.OPERATOR)

    response = alpha.client(alpha.admin_key).delete(f"/api/v1/api-keys/{api_key.pk}/")

    assert response.status_code == 204
    assert alpha.client(raw_key).get("/api/v1/tenant/").status_code == 401
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None


def test_key_expiry_must_be_in_the_future(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).post(
        "/api/v1/api-keys/", {"name": "old", "expires_at": "2001-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert "future" in response.json()["errors"]["expires_at"][0]


def test_api_key_limit_is_enforced(alpha: TenantSetup) -> None:
    tenant = alpha.tenant
    tenant.max_api_keys = ApiKey.objects.usable().filter(tenant=tenant).count()
    tenant.save()

    response = alpha.client(alpha.admin_key).post("/api/v1/api-keys/", {"name": "one too many"}, format="json")

    assert response.status_code == 400
    assert "maximum" in response.json()["errors"]["non_field_errors"][0]


def test_last_used_time_is_recorded(alpha: TenantSetup) -> None:
    api_key, raw_key = new_key(alpha)
    assert api_key.last_used_at is None

    alpha.client(raw_key).get("/api/v1/tenant/")

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert timezone.now() - api_key.last_used_at < timedelta(minutes=1)
