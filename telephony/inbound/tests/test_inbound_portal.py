"""The portal's inbound pages: numbers and flows, conversations with reply, recordings."""

import pytest
from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

from telephony.inbound.models import CallFlow, NumberSettings, Recording
from telephony.models import Communication
from tenants.accounts.roles import Role
from tenants.db import connection
from tenants.services import user_create
from testsupport.tenants import PASSWORD, TenantSetup
from testsupport.twilio import SENDER
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

CONTACT = "+14155559876"


def user(setup: TenantSetup, role: Role) -> str:
    email = f"{role}@{setup.slug}.test"
    with tenant_context(setup.tenant):
        user_create(tenant=setup.tenant, email=email, role=role, password=PASSWORD)
    connection.set_schema_to_public()
    return email


def test_an_admin_makes_a_flow_and_gives_it_to_a_number(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio, alpha_on_twilio.admin_email)

    overview = browser.get("/inbound/")
    made = browser.post(
        "/inbound/flows/new/",
        {
            "name": "Hello",
            "kind": "message",
            "text": "Hello!",
            "ring_seconds": 20,
            "max_recording_seconds": 120,
            "menu_seconds": 5,
            "caller_id": "caller",
        },
    )
    with tenant_context(alpha_on_twilio.tenant):
        flow = CallFlow.objects.get(name="Hello")
    given = browser.post(
        f"/inbound/numbers/{SENDER}/",
        {"call_flow": flow.pk, "auto_reply_window_minutes": 1440, "fallback_message": "Back soon."},
    )

    assert overview.status_code == 200 and SENDER in overview.content.decode()
    assert made.status_code == 302 and given.status_code == 302
    with tenant_context(alpha_on_twilio.tenant):
        settings = NumberSettings.objects.get(phone_number=SENDER)
    assert (settings.call_flow_id, settings.fallback_message) == (flow.pk, "Back soon.")
    assert "Hello (Play a message)" in browser.get("/inbound/").content.decode()


def test_a_flow_that_cannot_work_shows_the_field_to_fix(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio, alpha_on_twilio.admin_email)

    refused = browser.post(
        "/inbound/flows/new/",
        {
            "name": "Fwd",
            "kind": "forward",
            "ring_seconds": 20,
            "max_recording_seconds": 120,
            "menu_seconds": 5,
            "caller_id": "caller",
        },
    )

    assert refused.status_code == 400 and "A forward needs the number to ring." in refused.content.decode()


def test_a_viewer_sees_the_pages_but_cannot_change_them(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio, user(alpha_on_twilio, Role.VIEWER))

    assert [browser.get(path).status_code for path in ("/inbound/", "/conversations/", "/recordings/")] == [200] * 3
    refused = browser.post("/inbound/flows/new/", {"name": "X", "kind": "message", "text": "x"})
    assert refused.status_code == 403
    with tenant_context(alpha_on_twilio.tenant):
        assert not CallFlow.objects.exists()


def test_another_tenants_number_cannot_be_set_up_from_this_portal(
    alpha_on_twilio: TenantSetup, beta: TenantSetup
) -> None:
    browser = signed_in(beta, beta.admin_email)

    assert browser.get(f"/inbound/numbers/{SENDER}/").status_code == 404


def test_an_operator_replies_in_a_conversation(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        Communication.objects.create(
            channel="sms",
            direction="inbound",
            from_number=CONTACT,
            to_number=SENDER,
            content="Open today?",
            status="received",
        )
    browser = signed_in(alpha_on_twilio, user(alpha_on_twilio, Role.OPERATOR))

    thread = browser.get(f"/conversations/{CONTACT}/")
    replied = browser.post(f"/conversations/{CONTACT}/", {"body": "Yes, until 6."})

    assert thread.status_code == 200 and "Open today?" in thread.content.decode()
    assert replied.status_code == 302
    with tenant_context(alpha_on_twilio.tenant):
        reply = Communication.objects.get(direction="outbound", to_number=CONTACT)
    assert (reply.content, reply.from_number, reply.status) == ("Yes, until 6.", SENDER, "pending")


def test_a_viewer_cannot_reply(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio, user(alpha_on_twilio, Role.VIEWER))

    assert browser.post(f"/conversations/{CONTACT}/", {"body": "Hi"}).status_code == 403
    with tenant_context(alpha_on_twilio.tenant):
        assert not Communication.objects.filter(direction="outbound").exists()


def test_a_recording_plays_in_its_tenants_portal_only(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        recording = Recording(call_sid="CA1", recording_sid="RE" + "3" * 32, media_url="https://x/RE3", status="stored")
        recording.file.save("RE3.wav", ContentFile(b"RIFF-voicemail"), save=False)
        recording.save()
    connection.set_schema_to_public()

    page = signed_in(alpha, alpha.admin_email).get("/recordings/")
    played = signed_in(alpha, alpha.admin_email).get(f"/recordings/{recording.pk}/media/")
    by_beta = signed_in(beta, beta.admin_email).get(f"/recordings/{recording.pk}/media/")

    assert f'src="/recordings/{recording.pk}/media/' in page.content.decode()
    assert played.status_code == 200 and b"".join(played.streaming_content) == b"RIFF-voicemail"  # type: ignore[attr-defined]
    assert by_beta.status_code == 404
