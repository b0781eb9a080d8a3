import pytest
from django.conf import settings
from django_tenants.utils import schema_context, schema_exists
from rest_framework.test import APIClient

from tenants.accounts.models import User
from tenants.models import Tenant
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

NOT_AUTHENTICATED = "urn:switchboard:problem:not_authenticated"


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
    anonymous = public.get("/api/v1/tenants/")
    # 403, not 401: the endpoint's first authenticator is the session's, which sends no WWW-Authenticate.
    assert (anonymous.status_code, anonymous.json()["type"]) == (403, NOT_AUTHENTICATED)

    public.login(username="someone@platform.test", password="plain-password-1")
    assert (
        public.post(
            "/api/v1/tenants/", {"name": "x", "slug": "sneak", "admin_email": "a@b.test"}, format="json"
        ).status_code
        == 403
    )
    assert not Tenant.objects.filter(slug="sneak").exists()
    # and a tenant's admin key means nothing on the public host: not even an identity (a key accepted as one
    # would be refused by IsAdminUser with the same 403, but as permission_denied)
    with_key = APIClient(HTTP_HOST=settings.BASE_DOMAIN).get(
        "/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {alpha.admin_key}"
    )
    assert (with_key.status_code, with_key.json()["type"]) == (403, NOT_AUTHENTICATED)


def test_tenant_hosts_do_not_serve_the_staff_endpoint_or_admin(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    assert client.get("/api/v1/tenants/").status_code == 404
    # Not mounted at all: a mounted admin would answer /admin/ with 302 to its login page, and that page with 200.
    assert client.get("/admin/").status_code == 404
    assert client.get("/admin/login/").status_code == 404


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
