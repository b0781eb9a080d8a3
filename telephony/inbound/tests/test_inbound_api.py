"""The inbound API: call flows, number settings, inbound settings, recordings, conversations; each tenant's own."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

from telephony.inbound.models import Recording
from telephony.models import Communication
from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db

CONTACT = "+14155559876"


def key_with(setup: TenantSetup, role: Role) -> str:
    _, raw = api_key_create(tenant=setup.tenant, name=f"{role} key", role=role, created_by="test")
    return raw


def test_an_admin_builds_a_menu_of_flows_and_points_a_number_at_it(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    voicemail = client.post(
        "/api/v1/call-flows/", {"name": "Voicemail", "kind": "voicemail", "text": "Leave it."}, format="json"
    )
    menu = client.post(
        "/api/v1/call-flows/",
        {"name": "Main", "kind": "menu", "text": "Press 1.", "options": {"1": voicemail.json()["id"]}},
        format="json",
    )
    settings_for_number = client.post(
        "/api/v1/number-settings/", {"phone_number": "+1 415 555 0100", "call_flow": menu.json()["id"]}, format="json"
    )

    assert (voicemail.status_code, menu.status_code, settings_for_number.status_code) == (201, 201, 201)
    assert settings_for_number.json()["phone_number"] == SENDER
    assert [flow["name"] for flow in client.get("/api/v1/call-flows/").json()["results"]] == ["Main", "Voicemail"]


def test_a_flow_that_cannot_work_gets_field_errors(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).post(
        "/api/v1/call-flows/",
        {"name": "Fwd", "kind": "forward", "forward_to": "12", "ring_seconds": 500},
        format="json",
    )

    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == {"forward_to", "ring_seconds"}


def test_a_number_that_is_not_the_tenants_cannot_be_set_up(alpha_on_twilio: TenantSetup) -> None:
    response = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        "/api/v1/number-settings/", {"phone_number": "+14155550999"}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "phone_number": ["+14155550999 is not one of this account's numbers (register it as a sender first)."]
    }


def test_a_number_of_another_tenant_cannot_be_set_up_either(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    response = beta.client(beta.admin_key).post("/api/v1/number-settings/", {"phone_number": SENDER}, format="json")

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/call-flows/", {"name": "X", "kind": "message", "text": "x"}),
        ("post", "/api/v1/number-settings/", {"phone_number": SENDER}),
        ("patch", "/api/v1/inbound-settings/", {"help_text": "x"}),
    ],
)
def test_viewers_and_operators_read_but_only_admins_change_what_calls_hear(
    alpha_on_twilio: TenantSetup, method: str, path: str, body: dict[str, Any]
) -> None:
    for role in (Role.VIEWER, Role.OPERATOR):
        client = alpha_on_twilio.client(key_with(alpha_on_twilio, role))
        assert client.get(path).status_code == 200
        refused = getattr(client, method)(path, body, format="json")
        assert refused.status_code == 403 and refused.json()["type"] == "urn:switchboard:problem:permission_denied"


def test_inbound_settings_validate_the_time_zone(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    refused = client.patch("/api/v1/inbound-settings/", {"time_zone": "Mars/Olympus"}, format="json")
    changed = client.patch("/api/v1/inbound-settings/", {"time_zone": "Europe/Berlin"}, format="json")

    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["time_zone"]
    assert changed.status_code == 200 and changed.json()["time_zone"] == "Europe/Berlin"
    assert changed.json()["forward_signing_secret"].startswith("whsec_")


def stored_recording(setup: TenantSetup, sid: str) -> Recording:
    with tenant_context(setup.tenant):
        recording = Recording(call_sid="CA1", recording_sid=sid, media_url="https://x/" + sid, status="stored")
        recording.file.save(f"{sid}.wav", ContentFile(b"RIFF-alpha-audio"), save=False)
        recording.save()
        return recording


def test_recordings_are_downloaded_only_by_their_tenant_and_stored_in_its_own_folder(
    alpha: TenantSetup, beta: TenantSetup
) -> None:
    recording = stored_recording(alpha, "RE" + "1" * 32)

    mine = alpha.client(alpha.admin_key).get(f"/api/v1/recordings/{recording.pk}/media/")
    theirs = beta.client(beta.admin_key).get(f"/api/v1/recordings/{recording.pk}/media/")
    listed_by_beta = beta.client(beta.admin_key).get("/api/v1/recordings/")

    assert mine.status_code == 200 and mine["Content-Type"] == "audio/wav"
    assert b"".join(mine.streaming_content) == b"RIFF-alpha-audio"  # type: ignore[attr-defined]
    assert theirs.status_code == 404
    assert listed_by_beta.json()["results"] == []
    with tenant_context(alpha.tenant):
        stored = Path(recording.file.path)
    with tenant_context(beta.tenant):
        same_name_for_beta = Path(recording.file.path)
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT) / alpha.tenant.schema_name) and stored.exists()
    assert not same_name_for_beta.exists()


def test_deleting_a_recording_is_left_to_a_worker(
    alpha: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    recording = stored_recording(alpha, "RE" + "2" * 32)
    with django_capture_on_commit_callbacks(execute=True):
        response = alpha.client(alpha.admin_key).delete(f"/api/v1/recordings/{recording.pk}/")

    assert response.status_code == 202
    assert [(task.name, task.kwargs, task.schema) for task in queued_tasks] == [
        ("telephony.inbound.tasks.delete_recording", {"recording_id": recording.pk}, alpha.tenant.schema_name)
    ]


def test_conversations_are_threads_per_contact_in_both_directions(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        for direction, text in (
            ("inbound", "Hi, are you open?"),
            ("outbound", "Yes, until 6."),
            ("inbound", "Thanks!"),
        ):
            Communication.objects.create(
                channel="sms",
                direction=direction,
                from_number=CONTACT if direction == "inbound" else SENDER,
                to_number=SENDER if direction == "inbound" else CONTACT,
                content=text,
                status="received" if direction == "inbound" else "delivered",
            )
        Communication.objects.create(channel="sms", to_number="+14155550001", from_number=SENDER, content="Other")
    client = alpha.client(alpha.admin_key)

    conversations = client.get("/api/v1/conversations/").json()
    thread = client.get(f"/api/v1/conversations/{CONTACT}/").json()

    assert [(c["contact"], c["last_message"]) for c in conversations] == [
        ("+14155550001", "Other"),
        (CONTACT, "Thanks!"),
    ]
    assert [message["content"] for message in thread] == ["Hi, are you open?", "Yes, until 6.", "Thanks!"]
    assert beta.client(beta.admin_key).get(f"/api/v1/conversations/{CONTACT}/").json() == []
