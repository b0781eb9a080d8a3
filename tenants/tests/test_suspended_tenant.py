import pytest
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tenants.accounts.models import User
from tenants.services import tenant_reactivate, tenant_suspend
from testsupport.tenants import PASSWORD, TenantSetup

pytestmark = pytest.mark.django_db


def test_suspended_tenant_api_answers_403_with_a_clear_message(alpha: TenantSetup) -> None:
    tenant_suspend(tenant=alpha.tenant, reason="unpaid invoice")

    response = alpha.client(alpha.admin_key).get("/api/v1/tenant/")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "suspended" in response.json()["detail"]
    assert response.json()["type"].endswith("tenant-suspended")


def test_suspended_tenant_portal_answers_403(alpha: TenantSetup) -> None:
    browser = APIClient(HTTP_HOST=alpha.host)
    assert browser.post("/accounts/login/", {"username": alpha.admin_email, "password": PASSWORD}).status_code == 302
    tenant_suspend(tenant=alpha.tenant)

    response = browser.get("/voice/messages/")

    assert response.status_code == 403
    assert b"suspended" in response.content


def test_a_suspended_tenants_admin_can_still_sign_in_and_pay(alpha: TenantSetup) -> None:
    tenant_suspend(tenant=alpha.tenant, reason="unpaid invoice")
    browser = APIClient(HTTP_HOST=alpha.host)

    assert browser.post("/accounts/login/", {"username": alpha.admin_email, "password": PASSWORD}).status_code == 302
    assert browser.get("/billing/").status_code == 200
    assert browser.get("/").status_code == 403
    assert alpha.client(alpha.admin_key).get("/api/v1/billing/").status_code == 403


def test_suspension_keeps_data_and_reactivation_restores_access(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        users_before = list(User.objects.values_list("email", flat=True))

    tenant_suspend(tenant=alpha.tenant)
    assert alpha.client(alpha.admin_key).get("/api/v1/users/").status_code == 403
    tenant_reactivate(tenant=alpha.tenant)

    response = alpha.client(alpha.admin_key).get("/api/v1/users/")
    assert response.status_code == 200
    assert [user["email"] for user in response.json()["results"]] == users_before
    browser = APIClient(HTTP_HOST=alpha.host)
    assert browser.post("/accounts/login/", {"username": alpha.admin_email, "password": PASSWORD}).status_code == 302


def test_health_still_answers_for_a_suspended_tenant(alpha: TenantSetup) -> None:
    tenant_suspend(tenant=alpha.tenant)
    assert APIClient(HTTP_HOST=alpha.host).get("/healthz").status_code == 200


def test_other_tenants_are_unaffected(alpha: TenantSetup, beta: TenantSetup) -> None:
    tenant_suspend(tenant=alpha.tenant)
    assert beta.client(beta.admin_key).get("/api/v1/tenant/").status_code == 200
