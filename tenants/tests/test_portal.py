import re

import pytest
from django.core import mail
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.models import ApiKey
from tenants.services import api_key_create, user_create
from testsupport.tenants import PASSWORD, TenantSetup

pytestmark = pytest.mark.django_db


def first_group(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in {text!r}"
    return match.group(1)


def signed_in(setup: TenantSetup, email: str | None = None) -> APIClient:
    browser = APIClient(HTTP_HOST=setup.host)
    response = browser.post("/accounts/login/", {"username": email or setup.admin_email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return browser


def test_login_page_and_landing_page(alpha: TenantSetup) -> None:
    anonymous = APIClient(HTTP_HOST=alpha.host)
    assert anonymous.get("/").status_code == 302
    assert anonymous.get("/accounts/login/").status_code == 200

    landing = signed_in(alpha).get("/")

    assert landing.status_code == 200
    assert b"Alpha" in landing.content
    assert b"API keys" in landing.content and b"Users" in landing.content


def test_admin_creates_a_key_that_is_shown_once_then_revokes_it(alpha: TenantSetup) -> None:
    browser = signed_in(alpha)

    browser.post("/api-keys/", {"name": "Front desk", "role": "viewer"})
    first_view = browser.get("/").content.decode()
    raw_key = first_group(r'<code class="secret">([^<]+)</code>', first_view)

    assert alpha.client(raw_key).get("/api/v1/tenant/").status_code == 200
    assert raw_key not in browser.get("/").content.decode()

    api_key = ApiKey.objects.get(key_hash=ApiKey.hash_secret(raw_key))
    assert browser.post(f"/api-keys/{api_key.pk}/revoke/").status_code == 302
    assert alpha.client(raw_key).get("/api/v1/tenant/").status_code == 401


def test_admin_invites_a_user_who_sets_a_password_and_signs_in(
    alpha: TenantSetup, django_capture_on_commit_callbacks, settings
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            signed_in(alpha).post("/users/invite/", {"email": "new@alpha.test", "name": "New", "role": "operator"})
    finally:
        app.conf.task_always_eager = False

    with tenant_context(alpha.tenant):
        invited = User.objects.get(email="new@alpha.test")
        assert (invited.role, invited.has_usable_password()) == ("operator", False)
    assert [message.to for message in mail.outbox] == [["new@alpha.test"]]
    link = first_group(r"http://alpha\.localhost:8000(/accounts/set-password/\S+)", str(mail.outbox[0].body))

    browser = APIClient(HTTP_HOST=alpha.host)
    form = browser.get(link, follow=True)
    assert form.status_code == 200 and b"Choose your password" in form.content
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done.status_code == 302

    signed_in(alpha, "new@alpha.test")


def test_viewer_sees_the_landing_page_but_not_key_management(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        user_create(tenant=alpha.tenant, email="viewer@alpha.test", role=Role.VIEWER, password=PASSWORD)
    browser = signed_in(alpha, "viewer@alpha.test")

    assert b"API keys" not in browser.get("/").content
    assert browser.post("/api-keys/", {"name": "nope", "role": "admin"}).status_code == 403
    assert ApiKey.objects.filter(name="nope").count() == 0


def test_embedded_page_with_api_key_query_parameter(alpha: TenantSetup) -> None:
    _, raw_key = api_key_create(tenant=alpha.tenant, name="desktop client", role=Role.OPERATOR)

    response = APIClient(HTTP_HOST=alpha.host).get("/", {"apiKey": raw_key})

    assert response.status_code == 200
    assert b"Alpha" in response.content
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_embedded_pages_keep_the_api_key_in_links_forms_and_redirects(alpha: TenantSetup) -> None:
    _, raw_key = api_key_create(tenant=alpha.tenant, name="desktop client", role=Role.ADMIN)
    client = APIClient(HTTP_HOST=alpha.host)

    page = client.get("/", {"apiKey": raw_key}).content.decode()
    created = client.post(f"/api-keys/?apiKey={raw_key}", {"name": "From iframe", "role": "viewer"})

    assert f'href="/voice/messages/?apiKey={raw_key}"' in page
    assert f'action="/api-keys/?apiKey={raw_key}"' in page
    assert created.status_code == 302 and created["Location"] == f"/?apiKey={raw_key}"
    assert client.get(created["Location"]).status_code == 200
