from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.models import Communication, OptOut
from telephony.registry.models import TwilioAccount
from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

TO = "+14155552671"


def send(setup: TenantSetup, **payload):
    return setup.client(setup.admin_key).post(
        "/api/v1/messages/", {"to": TO, "body": "Hello", **payload}, format="json"
    )


def test_message_is_accepted_at_once_with_encoding_and_segments(alpha_on_twilio: TenantSetup) -> None:
    plain = send(alpha_on_twilio, body="a" * 161)
    emoji = send(alpha_on_twilio, body="Hi 😀")

    assert plain.status_code == 202
    body = plain.json()
    assert (body["status"], body["to"], body["from"], body["encoding"], body["segments"]) == (
        "pending",
        TO,
        "+14155550100",
        "GSM-7",
        2,
    )
    assert (emoji.json()["encoding"], emoji.json()["segments"]) == ("UCS-2", 1)


def test_message_from_a_voice_message_template(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    template_id = client.post(
        "/api/v1/voice-messages/",
        {"name": "T", "template_text": "Pay {amount}~SSML~currency by {day}. {MP3~x}"},
        format="json",
    ).json()["id"]

    ok = client.post(
        "/api/v1/messages/",
        {"to": TO, "voice_message_id": template_id, "variables": {"amount": "$5", "day": "Friday"}},
        format="json",
    )
    missing = client.post("/api/v1/messages/", {"to": TO, "voice_message_id": template_id}, format="json")

    assert ok.status_code == 202 and ok.json()["content"] == "Pay $5 by Friday."
    assert missing.status_code == 422 and "amount" in missing.json()["errors"]["variables"][0]


@pytest.mark.parametrize(
    ("payload", "status", "field", "fragment"),
    [
        ({"to": "12345"}, 400, "to", "not a"),
        ({"to": "+442071838750"}, 403, "to", "country GB is not allowed"),
        ({"from": "+14155550999"}, 422, "from", "not one of this account's numbers"),
        ({"body": ""}, 400, "body", "Give a body"),
        ({"media_urls": ["not a url"]}, 400, "media_urls", ""),
    ],
)
def test_policies_refuse_before_anything_is_queued(
    alpha_on_twilio: TenantSetup, payload, status, field, fragment
) -> None:
    response = send(alpha_on_twilio, **payload)

    assert response.status_code == status, response.json()
    assert fragment in str(response.json()["errors"][field])
    with tenant_context(alpha_on_twilio.tenant):
        assert not Communication.objects.exists()


def test_opted_out_numbers_are_refused(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        OptOut.objects.create(phone_number=TO, source=OptOut.Source.STOP_REPLY)
    response = send(alpha_on_twilio)
    assert response.status_code == 422 and "opted out" in response.json()["errors"]["to"][0]


def test_daily_limit(alpha_on_twilio: TenantSetup) -> None:
    tenant = alpha_on_twilio.tenant
    tenant.max_messages_per_day = 2
    tenant.save()

    statuses = [send(alpha_on_twilio).status_code for _ in range(3)]

    assert statuses == [202, 202, 429]


def test_no_twilio_account_yet_is_a_409(alpha_on_twilio: TenantSetup) -> None:
    # The sender was verified on a subaccount that is now being created again.
    TwilioAccount.objects.filter(tenant=alpha_on_twilio.tenant).update(status=TwilioAccount.Status.PROVISIONING)

    response = send(alpha_on_twilio)

    assert response.status_code == 409
    assert "being created" in response.json()["detail"]


def test_idempotency_key_returns_the_first_answer_and_sends_nothing_new(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    first = client.post("/api/v1/messages/", {"to": TO, "body": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    again = client.post("/api/v1/messages/", {"to": TO, "body": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    other = client.post(
        "/api/v1/messages/", {"to": TO, "body": "Different"}, format="json", HTTP_IDEMPOTENCY_KEY="order-42"
    )

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    with tenant_context(alpha_on_twilio.tenant):
        assert Communication.objects.count() == 1


def test_scheduled_message_can_be_canceled_before_it_goes(alpha_on_twilio: TenantSetup) -> None:
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    created = send(alpha_on_twilio, send_at=later).json()

    canceled = client.post(f"/api/v1/messages/{created['id']}/cancel/")
    again = client.post(f"/api/v1/messages/{created['id']}/cancel/")

    assert created["status"] == "scheduled"
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert again.status_code == 409


def test_calls_need_a_voice_message_or_text_and_their_variables(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    ok = client.post("/api/v1/calls/", {"to": TO, "text": "Hello {name}", "variables": {"name": "Ann"}}, format="json")
    neither = client.post("/api/v1/calls/", {"to": TO}, format="json")
    missing = client.post("/api/v1/calls/", {"to": TO, "text": "Hello {name}"}, format="json")
    unknown = client.post("/api/v1/calls/", {"to": TO, "voice_message_id": 999999}, format="json")
    unparsable = client.post(
        "/api/v1/calls/", {"to": TO, "text": "Total {amount}~SSML~money", "variables": {"amount": "5"}}, format="json"
    )

    assert ok.status_code == 202 and ok.json()["channel"] == "call"
    assert unparsable.status_code == 400 and "Unknown SSML type 'money'" in unparsable.json()["errors"]["text"][0]
    assert neither.status_code == 400 and "voice_message_id" in neither.json()["errors"]
    assert missing.status_code == 422 and "name" in missing.json()["errors"]["variables"][0]
    assert unknown.status_code == 400


def test_viewer_cannot_send_and_log_filters_work(alpha_on_twilio: TenantSetup) -> None:
    _, viewer = api_key_create(tenant=alpha_on_twilio.tenant, name="v", role=Role.VIEWER)
    send(alpha_on_twilio)
    alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        "/api/v1/calls/", {"to": "+14155552672", "text": "Hi"}, format="json"
    )
    viewer_client = alpha_on_twilio.client(viewer)

    assert viewer_client.post("/api/v1/messages/", {"to": TO, "body": "x"}, format="json").status_code == 403
    log = viewer_client.get("/api/v1/communications/").json()
    assert [item["channel"] for item in log["results"]] == ["call", "sms"]
    assert [item["to"] for item in viewer_client.get("/api/v1/communications/", {"type": "sms"}).json()["results"]] == [
        TO
    ]
    assert (
        viewer_client.get("/api/v1/communications/", {"number": "+14155552672"}).json()["pagination"]["total_items"]
        == 1
    )
    assert len(viewer_client.get("/api/v1/messages/").json()["results"]) == 1


def test_messages_of_one_tenant_are_invisible_to_another(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    message_id = send(alpha_on_twilio).json()["id"]
    beta_client = beta.client(beta.admin_key)

    assert beta_client.get(f"/api/v1/messages/{message_id}/").status_code == 404
    assert beta_client.post(f"/api/v1/messages/{message_id}/cancel/").status_code == 404
    assert beta_client.get("/api/v1/communications/").json()["pagination"]["total_items"] == 0


def test_twilio_account_view_never_shows_the_token(alpha_on_twilio: TenantSetup) -> None:
    body = alpha_on_twilio.client(alpha_on_twilio.admin_key).get("/api/v1/twilio-account/").json()

    assert body["status"] == "active" and body["kind"] == "subaccount" and body["account_sid"].startswith("AC")
    assert "auth_token" not in body


def test_a_missing_value_is_the_same_problem_wherever_it_is_found(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    template_id = client.post(
        "/api/v1/voice-messages/", {"name": "Owed", "template_text": "You owe {amount}."}, format="json"
    ).json()["id"]

    answers = [
        client.post("/api/v1/messages/", {"to": TO, "voice_message_id": template_id}, format="json"),
        client.post("/api/v1/calls/", {"to": TO, "voice_message_id": template_id}, format="json"),
        client.post(f"/api/v1/voice-messages/{template_id}/render/", {"variables": {}}, format="json"),
        client.post(f"/api/v1/voice-messages/{template_id}/twiml-documents/", {"variables": {}}, format="json"),
    ]

    problems = [(answer.status_code, answer["Content-Type"], answer.json()) for answer in answers]
    assert {(status, content_type) for status, content_type, _ in problems} == {(422, "application/problem+json")}
    assert {body["type"] for _, _, body in problems} == {"urn:switchboard:problem:missing-values"}
    assert all(body["errors"] == {"variables": ["Missing value for 'amount'."]} for _, _, body in problems)
