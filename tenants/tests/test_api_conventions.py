from pathlib import Path

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from tenants.accounts.roles import Role
from tenants.services import user_create
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def make_users(setup: TenantSetup, count: int) -> None:
    tenant = setup.tenant
    tenant.max_users = 500
    tenant.save()
    with tenant_context(tenant):
        for number in range(count):
            user_create(tenant=tenant, email=f"user{number:03}@{setup.slug}.test", role=Role.VIEWER)


def test_pagination_block_and_per_page(alpha: TenantSetup) -> None:
    make_users(alpha, 11)  # 12 with the admin

    body = alpha.client(alpha.admin_key).get("/api/v1/users/", {"per_page": 5, "page": 2}).json()

    assert len(body["results"]) == 5
    assert body["pagination"] == {
        "page": 2,
        "per_page": 5,
        "total_items": 12,
        "total_pages": 3,
        "has_next": True,
        "has_prev": True,
    }


def test_per_page_is_capped_at_100(alpha: TenantSetup) -> None:
    make_users(alpha, 105)

    body = alpha.client(alpha.admin_key).get("/api/v1/users/", {"per_page": 1000}).json()

    assert body["pagination"]["per_page"] == 100
    assert len(body["results"]) == 100


def test_page_out_of_range_is_a_404_problem(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).get("/api/v1/users/", {"page": 99})
    assert response.status_code == 404
    assert set(response.json()) >= {"type", "title", "status", "detail"}


def test_validation_errors_name_the_fields(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).post("/api/v1/users/", {"email": "nope", "role": "god"}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert (body["title"], body["status"]) == ("Bad Request", 400)
    assert set(body["errors"]) == {"email", "role"}


def test_unknown_api_route_is_a_json_404(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_malformed_json_is_a_400_problem(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).post("/api/v1/users/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_openapi_schema_and_docs_are_served(alpha: TenantSetup) -> None:
    schema = alpha.client().get("/api/schema/", {"format": "json"})
    docs = alpha.client().get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/tenant/", "/api/v1/api-keys/", "/api/v1/users/{id}/"} <= set(paths)
    assert {"BearerApiKey", "HeaderApiKey", "QueryApiKey"} <= set(schema.json()["components"]["securitySchemes"])
    listing = paths["/api/v1/users/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing["$ref"].endswith("PaginatedUserList")
    assert docs.status_code == 200


@pytest.mark.parametrize("urlconf", ["config.urls_tenants", "config.urls_public"])
def test_the_openapi_schema_is_valid_and_generates_without_warnings(urlconf: str, tmp_path: Path) -> None:
    # --fail-on-warn: an untyped path parameter or an ambiguous enum name would reach integrators' generated clients.
    call_command(
        "spectacular", "--urlconf", urlconf, "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert "/api/v1/" in (tmp_path / "schema.yaml").read_text()
