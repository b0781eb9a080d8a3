import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tenants.accounts.roles import Role
from tenants.services import user_create
from testsupport.tenants import PASSWORD, TenantSetup
from voice.models import VoiceFile, VoiceMessage
from voice.tests.test_voice_files import wav_bytes

pytestmark = pytest.mark.django_db


def signed_in(setup: TenantSetup, email: str | None = None) -> APIClient:
    browser = APIClient(HTTP_HOST=setup.host)
    assert (
        browser.post("/accounts/login/", {"username": email or setup.admin_email, "password": PASSWORD}).status_code
        == 302
    )
    return browser


def test_create_edit_and_list_messages(alpha: TenantSetup) -> None:
    browser = signed_in(alpha)
    form = {
        "name": "Greeting",
        "message_type": "greeting",
        "template_text": "Welcome {name}",
        "voice": "Polly.Amy-Neural",
        "language": "en-GB",
        "rate": "medium",
        "is_active": "on",
    }

    assert browser.get("/voice/messages/new/").status_code == 200
    assert browser.post("/voice/messages/new/", form).status_code == 302
    with tenant_context(alpha.tenant):
        message = VoiceMessage.objects.get(name="Greeting")
    assert browser.post(f"/voice/messages/{message.pk}/", {**form, "name": "Greeting v2"}).status_code == 302

    listing = browser.get("/voice/messages/").content.decode()
    assert "Greeting v2" in listing


def test_form_shows_field_errors(alpha: TenantSetup) -> None:
    response = signed_in(alpha).post(
        "/voice/messages/new/",
        {
            "name": "",
            "template_text": "{x}~SSML~bogus",
            "voice": "alice",
            "language": "en-US",
            "rate": "medium",
            "message_type": "message",
        },
    )
    assert response.status_code == 200
    assert b"Unknown SSML type" in response.content and b"This field is required" in response.content


def test_live_preview_renders_sample_values(alpha: TenantSetup) -> None:
    response = signed_in(alpha).post(
        "/voice/preview/",
        {"template_text": "Pay {amount}~SSML~currency, {name}", "voice": "alice", "language": "en-US", "rate": "fast"},
    )

    body = response.json()
    assert body["variables"] == ["amount", "name"]
    assert '<say-as interpret-as="currency">42.50</say-as>' in body["twiml"]
    assert "[name]" in body["twiml"] and '<prosody rate="fast">' in body["twiml"]
    bad = signed_in(alpha).post("/voice/preview/", {"template_text": "{x}~SSML~nope"})
    assert bad.status_code == 422 and "Unknown SSML type" in bad.json()["error"]


def test_upload_from_the_files_page(alpha: TenantSetup) -> None:
    browser = signed_in(alpha)

    response = browser.post(
        "/voice/files/", {"file": SimpleUploadedFile("hello.wav", wav_bytes()), "name": "hello", "tags": "a, b"}
    )

    assert response.status_code == 302
    with tenant_context(alpha.tenant):
        assert VoiceFile.objects.get(name="hello").tags == ["a", "b"]
    assert b"hello" in browser.get("/voice/files/").content


def test_viewer_can_look_but_not_edit(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        user_create(tenant=alpha.tenant, email="look@alpha.test", role=Role.VIEWER, password=PASSWORD)
    browser = signed_in(alpha, "look@alpha.test")

    assert browser.get("/voice/messages/").status_code == 200
    assert browser.get("/voice/messages/new/").status_code == 403
    assert browser.post("/voice/files/", {"name": "x"}).status_code == 403


@pytest.mark.parametrize("path", ["/voice/messages/", "/voice/messages/new/", "/voice/files/"])
def test_voice_pages_refuse_other_tenants_session_and_key(alpha: TenantSetup, beta: TenantSetup, path: str) -> None:
    stolen = signed_in(beta).cookies["sessionid"].value
    browser = APIClient(HTTP_HOST=alpha.host)
    browser.cookies["sessionid"] = stolen

    assert browser.get(path).status_code == 302
    assert APIClient(HTTP_HOST=alpha.host).get(path, {"apiKey": beta.admin_key}).status_code == 302
