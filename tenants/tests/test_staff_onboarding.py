import pytest
from django.conf import settings
from django_tenants.utils import schema_context, schema_exists
from rest_framework.test import APIClient

from tenants.accounts.models import User
from tenants.models import Tenant
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db: None) -> APIClient:
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
    client = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    client.credentials(
        HTTP_AUTHORIZATION="Basic " + __import__("base64").b64encode(b"root@platform.test:staff-password-1").decode()
    )
    return client


def test_staff_onboards_a_tenant_over_rest(staff_client: APIClient) -> None:
    response = staff_client.post(
        "/api/v1/tenants/", {"name": "Rest Co", "slug": "rest-co", "admin_email": "a@rest.test"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["domain"], body["schema"]) == ("rest-co", "rest-co.localhost", "t_rest_co")
    assert schema_exists("t_rest_co")
    tenant_client = APIClient(HTTP_HOST=body["domain"])
    assert tenant_client.get("/api/v1/tenant/", HTTP_X_API_KEY=body["api_key"]).status_code == 200


def test_bad_slug_over_rest_gets_field_errors(staff_client: APIClient) -> None:
    response = staff_client.post(
        "/api/v1/tenants/", {"name": "W", "slug": "www", "admin_email": "a@w.test"}, format="json"
    )

    assert response.status_code == 400
    assert "reserved" in response.json()["errors"]["slug"][0]


def test_staff_suspends_and_reactivates(staff_client: APIClient, alpha: TenantSetup) -> None:
    assert (
        staff_client.post("/api/v1/tenants/alpha/suspend/", {"reason": "fraud check"}, format="json").json()["status"]
        == "suspended"
    )
    assert alpha.client(alpha.admin_key).get("/api/v1/tenant/").status_code == 403
    assert staff_client.post("/api/v1/tenants/alpha/reactivate/").json()["status"] == "active"
    assert alpha.client(alpha.admin_key).get("/api/v1/tenant/").status_code == 200


def test_endpoint_is_for_staff_only(alpha: TenantSetup) -> None:
    with schema_context("public"):
        User.objects.create_user("someone@platform.test", "plain-password-1")
    public = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    assert public.get("/api/v1/tenants/").status_code in (401, 403)

    public.login(username="someone@platform.test", password="plain-password-1")
    assert (
        public.post(
            "/api/v1/tenants/", {"name": "x", "slug": "sneak", "admin_email": "a@b.test"}, format="json"
        ).status_code
        == 403
    )
    assert not Tenant.objects.filter(slug="sneak").exists()
    # and a tenant's admin key means nothing on the public host
    assert APIClient(HTTP_HOST=settings.BASE_DOMAIN).get(
        "/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {alpha.admin_key}"
    ).status_code in (401, 403)


def test_tenant_hosts_do_not_serve_the_staff_endpoint_or_admin(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    assert client.get("/api/v1/tenants/").status_code == 404
    assert client.get("/admin/").status_code in (302, 404)


def test_staff_onboards_from_the_django_admin(db: None) -> None:
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
    browser = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    browser.login(username="root@platform.test", password="staff-password-1")

    response = browser.post(
        "/admin/tenants/tenant/add/",
        {"name": "Admin Co", "slug": "admin-co", "admin_email": "a@admin.test"},
        follow=True,
    )

    assert response.status_code == 200
    assert b"API key (shown once)" in response.content
    assert Tenant.objects.get(slug="admin-co").get_primary_domain().domain == "admin-co.localhost"
    assert browser.get("/admin/tenants/apikey/").status_code == 200
