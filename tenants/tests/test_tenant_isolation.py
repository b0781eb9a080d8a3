"""Nothing in one tenant is reachable from another tenant's host, key or session."""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.models import ApiKey
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
    # Ids are per schema: beta's new user has an id no alpha user has, while the two admins share theirs.
    with tenant_context(alpha.tenant):
        assert not User.objects.filter(pk=beta_user.pk).exists()
        admin_id = User.objects.get(email=alpha.admin_email).pk
    with tenant_context(beta.tenant):
        assert User.objects.get(email=beta.admin_email).pk == admin_id
    missing = client.get(f"/api/v1/users/{beta_user.pk}/")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/problem+json")
    same_id = client.get(f"/api/v1/users/{admin_id}/")
    assert (same_id.status_code, same_id.json()["email"]) == (200, alpha.admin_email)
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
    assert beta_browser.get("/api/v1/users/").status_code == 401  # no session here, so no credentials at all


def test_alpha_login_does_not_work_on_beta(alpha: TenantSetup, beta: TenantSetup) -> None:
    response = APIClient(HTTP_HOST=beta.host).post(
        "/accounts/login/", {"username": alpha.admin_email, "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, with an error
    assert b"did not match" in response.content


# The portal's two forms (POST only), each with a valid body: only the key can be what refuses them.
KEY_NAME = "made across tenants"
INVITED_EMAIL = "invited-across@tenants.test"
PORTAL_FORMS = {
    "/api-keys/": {"name": KEY_NAME, "role": Role.ADMIN},
    "/users/invite/": {"email": INVITED_EMAIL, "role": Role.ADMIN},
}


def portal_request(host: TenantSetup, key: str, path: str) -> HttpResponse:
    """The page as the legacy client reaches it: `?apiKey=`, POST for the forms, GET for the home page."""
    url = f"{path}?{urlencode({'apiKey': key})}"
    client = APIClient(HTTP_HOST=host.host)
    return client.post(url, PORTAL_FORMS[path]) if path in PORTAL_FORMS else client.get(url)


def portal_writes(*setups: TenantSetup) -> set[str]:
    """What the forms have created anywhere: API keys (public schema) and users (each tenant's schema)."""
    writes = {
        f"api key of {slug}" for slug in ApiKey.objects.filter(name=KEY_NAME).values_list("tenant__slug", flat=True)
    }
    for setup in setups:
        with tenant_context(setup.tenant):
            if User.objects.filter(email=INVITED_EMAIL).exists():
                writes.add(f"user in {setup.slug}")
    return writes


@pytest.mark.parametrize("path", ["/", *PORTAL_FORMS])
def test_portal_pages_with_other_tenants_key_are_refused(alpha: TenantSetup, beta: TenantSetup, path: str) -> None:
    response = portal_request(alpha, beta.admin_key, path)

    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert (login.path, parse_qs(login.query)) == ("/accounts/login/", {"next": [f"{path}?apiKey={beta.admin_key}"]})
    assert portal_writes(alpha, beta) == set()


@pytest.mark.parametrize(
    ("path", "status", "location", "writes"),
    [
        pytest.param("/", 200, None, set(), id="/"),
        pytest.param("/api-keys/", 302, "/?apiKey={key}", {"api key of alpha"}, id="/api-keys/"),
        pytest.param("/users/invite/", 302, "/?apiKey={key}", {"user in alpha"}, id="/users/invite/"),
    ],
)
def test_the_same_portal_requests_with_the_tenants_own_key_go_through(
    alpha: TenantSetup, beta: TenantSetup, path: str, status: int, location: str | None, writes: set[str]
) -> None:
    """The control for the test above: the same requests with alpha's own key are served and write."""
    response = portal_request(alpha, alpha.admin_key, path)

    assert response.status_code == status
    assert response.get("Location") == (location and location.format(key=alpha.admin_key))
    assert portal_writes(alpha, beta) == writes


def test_unknown_host_is_404(db: None) -> None:
    assert APIClient(HTTP_HOST="nobody.localhost").get("/api/v1/tenant/").status_code == 404
