"""Nothing in one tenant is reachable from another tenant's host, key or session."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.services import api_key_create, user_create
from testsupport.tenants import PASSWORD, TenantSetup

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete"]


def api_paths(patterns: list, prefix: str = "") -> list[str]:
    """Every route under /api/v1/ of the tenant URLconf, with its parameters filled in."""
    paths = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths += api_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route).replace("^", "").replace("$", "")
            route = re.sub(r"<(?:\w+:)?\w+>", "1", route)
            if "(?P" not in route and "<" not in route:
                paths.append("/" + route)
    return sorted(set(paths))


TENANT_API_PATHS = api_paths(get_resolver("config.urls_tenants").url_patterns)


def test_route_discovery_finds_the_api() -> None:
    assert {"/api/v1/tenant/", "/api/v1/api-keys/", "/api/v1/api-keys/1/", "/api/v1/users/", "/api/v1/users/1/"} <= set(
        TENANT_API_PATHS
    )


@pytest.mark.parametrize("path", TENANT_API_PATHS)
@pytest.mark.parametrize("method", METHODS)
def test_other_tenants_key_is_rejected_on_every_endpoint(
    alpha: TenantSetup, beta: TenantSetup, path: str, method: str
) -> None:
    response = getattr(alpha.client(beta.admin_key), method)(path, {}, format="json")
    assert response.status_code == 401, (method, path, response.status_code)


@pytest.mark.parametrize("path", TENANT_API_PATHS)
def test_no_endpoint_is_open_without_credentials(alpha: TenantSetup, path: str) -> None:
    assert alpha.client().get(path).status_code == 401


def test_users_and_keys_are_invisible_across_tenants(alpha: TenantSetup, beta: TenantSetup) -> None:
    from django_tenants.utils import tenant_context

    with tenant_context(beta.tenant):
        beta_user = user_create(tenant=beta.tenant, email="secret@beta.test", role=Role.VIEWER)
    beta_key, _ = api_key_create(tenant=beta.tenant, name="beta only", role=Role.VIEWER)
    client = alpha.client(alpha.admin_key)

    users = client.get("/api/v1/users/", {"per_page": 100}).json()["results"]
    keys = client.get("/api/v1/api-keys/", {"per_page": 100}).json()["results"]

    assert "secret@beta.test" not in {user["email"] for user in users}
    assert beta_key.prefix not in {key["prefix"] for key in keys}
    assert client.get(f"/api/v1/api-keys/{beta_key.pk}/").status_code == 404
    assert client.delete(f"/api/v1/api-keys/{beta_key.pk}/").status_code == 404
    # Ids are per schema, so beta's user id may exist in alpha too: whatever answers must be alpha's.
    detail = client.get(f"/api/v1/users/{beta_user.pk}/")
    assert detail.status_code == 404 or detail.json()["email"] != "secret@beta.test"
    with tenant_context(alpha.tenant):
        assert not User.objects.filter(email="secret@beta.test").exists()


def test_session_of_one_tenant_is_not_valid_on_another(alpha: TenantSetup, beta: TenantSetup) -> None:
    alpha_browser = APIClient(HTTP_HOST=alpha.host)
    assert (
        alpha_browser.post("/accounts/login/", {"username": alpha.admin_email, "password": PASSWORD}).status_code == 302
    )
    assert alpha_browser.get("/").status_code == 200
    assert alpha_browser.get("/api/v1/users/").status_code == 200

    stolen_cookie = alpha_browser.cookies["sessionid"].value
    beta_browser = APIClient(HTTP_HOST=beta.host)
    beta_browser.cookies["sessionid"] = stolen_cookie

    assert beta_browser.get("/").status_code == 302  # to beta's login page
    assert beta_browser.get("/api/v1/users/").status_code in (401, 403)


def test_alpha_login_does_not_work_on_beta(alpha: TenantSetup, beta: TenantSetup) -> None:
    response = APIClient(HTTP_HOST=beta.host).post(
        "/accounts/login/", {"username": alpha.admin_email, "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, with an error
    assert b"did not match" in response.content


@pytest.mark.parametrize("path", ["/", "/api-keys/", "/users/invite/"])
def test_portal_pages_with_other_tenants_key_are_refused(alpha: TenantSetup, beta: TenantSetup, path: str) -> None:
    response = APIClient(HTTP_HOST=alpha.host).get(path, {"apiKey": beta.admin_key})
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"]


def test_unknown_host_is_404(db: None) -> None:
    assert APIClient(HTTP_HOST="nobody.localhost").get("/api/v1/tenant/").status_code == 404
