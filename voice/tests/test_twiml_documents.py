import pytest
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

TOKEN = "test-twilio-auth-token"


@pytest.fixture(autouse=True)
def twilio_token(settings) -> str:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    return TOKEN


def create_document(setup: TenantSetup, variables: dict) -> dict:
    client = setup.client(setup.admin_key)
    message_id = client.post(
        "/api/v1/voice-messages/", {"name": "Call script", "template_text": "Hello {name}"}, format="json"
    ).json()["id"]
    response = client.post(
        f"/api/v1/voice-messages/{message_id}/twiml-documents/", {"variables": variables}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def signed_fetch(setup: TenantSetup, url: str, params: dict, token: str = TOKEN, host: str | None = None):
    signature = RequestValidator(token).compute_signature(url, params)
    path = url.split(":8000", 1)[1]
    return APIClient(HTTP_HOST=host or setup.host).post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_document_is_stored_with_its_variables_and_served_to_signed_requests(alpha: TenantSetup) -> None:
    document = create_document(alpha, {"name": "Ann", "unused": "x"})
    params = {"CallSid": "CA" + "0" * 32, "From": "+14155552671"}

    response = signed_fetch(alpha, document["url"], params)

    assert document["variables"] == {"name": "Ann"}
    assert document["url"].startswith("http://alpha.localhost:8000/twiml/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response.content.decode() == document["xml"]
    assert "<Say" in document["xml"] and "Hello Ann" in document["xml"]


def test_unsigned_or_wrongly_signed_fetches_are_refused(alpha: TenantSetup) -> None:
    document = create_document(alpha, {"name": "Ann"})
    path = document["url"].split(":8000", 1)[1]

    assert APIClient(HTTP_HOST=alpha.host).post(path, {}).status_code == 403
    assert signed_fetch(alpha, document["url"], {"a": "1"}, token="wrong-token").status_code == 403


def test_signature_covers_the_configured_public_url_not_the_host_header(alpha: TenantSetup) -> None:
    document = create_document(alpha, {"name": "Ann"})
    signed_for_another_host = document["url"].replace("alpha.localhost", "evil.example")

    assert signed_fetch(alpha, signed_for_another_host, {}).status_code == 403


def test_documents_are_not_reachable_from_another_tenant(alpha: TenantSetup, beta: TenantSetup) -> None:
    document = create_document(alpha, {"name": "Ann"})
    beta_url = document["url"].replace(alpha.host, beta.host)

    assert signed_fetch(beta, beta_url, {}).status_code == 404


def test_strict_document_creation_names_missing_variables(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    message_id = client.post(
        "/api/v1/voice-messages/", {"name": "S", "template_text": "Hi {who}"}, format="json"
    ).json()["id"]

    response = client.post(f"/api/v1/voice-messages/{message_id}/twiml-documents/", {}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"]["variables"] == ["Missing value for 'who'."]
