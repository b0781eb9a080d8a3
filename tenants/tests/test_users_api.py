import pytest
from django_tenants.utils import tenant_context

from tenants.accounts.models import User
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def test_invite_creates_a_user_without_password_in_this_tenant_only(alpha: TenantSetup, beta: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).post(
        "/api/v1/users/", {"email": "Ops@Alpha.test", "role": "operator"}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["email"], response.json()["role"]) == ("ops@alpha.test", "operator")
    with tenant_context(alpha.tenant):
        assert not User.objects.get(email="ops@alpha.test").has_usable_password()
    with tenant_context(beta.tenant):
        assert not User.objects.filter(email="ops@alpha.test").exists()


def test_duplicate_email_is_refused(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).post("/api/v1/users/", {"email": alpha.admin_email}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["email"][0]


def test_user_limit_is_enforced(alpha: TenantSetup) -> None:
    tenant = alpha.tenant
    tenant.max_users = 1
    tenant.save()

    response = alpha.client(alpha.admin_key).post("/api/v1/users/", {"email": "two@alpha.test"}, format="json")

    assert response.status_code == 400
    assert "maximum of 1 users" in response.json()["errors"]["non_field_errors"][0]


def test_admin_changes_a_role_and_deactivates_a_user(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    user_id = client.post("/api/v1/users/", {"email": "temp@alpha.test"}, format="json").json()["id"]

    changed = client.patch(f"/api/v1/users/{user_id}/", {"role": "admin", "email": "hijack@x.test"}, format="json")
    removed = client.delete(f"/api/v1/users/{user_id}/")

    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["email"]) == ("admin", "temp@alpha.test")  # email is read-only
    assert removed.status_code == 204
    assert client.get(f"/api/v1/users/{user_id}/").json()["is_active"] is False
