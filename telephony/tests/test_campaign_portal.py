"""Launching a campaign from the portal with an uploaded list."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from telephony import uploads
from telephony.models import Campaign, Communication
from telephony.registry.models import TwilioAccount
from tenants.accounts.roles import Role
from tenants.db import connection
from tenants.services import user_create
from testsupport.tenants import PASSWORD, TenantSetup
from testsupport.twilio import sender_on_sandbox
from voice.models import VoiceMessage
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

POOL = ["+14155550631", "+14155550632"]
LIST = b"to,first_name\n+14155552671,Ann\n+14155552672,Bob\nnot a number,Cy\n+14155552674,\n"


def upload(content: bytes = LIST) -> SimpleUploadedFile:
    return SimpleUploadedFile("list.csv", content, content_type="text/csv")


def test_an_operator_launches_a_campaign_from_a_csv_over_a_pool(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        account = TwilioAccount.objects.get(tenant=alpha_on_twilio.tenant)
        for number in POOL:
            sender_on_sandbox(account, number)
        reminder = VoiceMessage.objects.create(name="Reminder", template_text="Hi {first_name}, your order is ready.")
        user_create(tenant=alpha_on_twilio.tenant, email="ops@alpha.test", role=Role.OPERATOR, password=PASSWORD)
    connection.set_schema_to_public()
    browser = signed_in(alpha_on_twilio, "ops@alpha.test")
    form = {"name": "Ready", "channel": "sms", "voice_message": reminder.pk, "senders": POOL, "file": upload()}

    launched = browser.post("/campaigns/new/", form)

    with tenant_context(alpha_on_twilio.tenant):
        campaign = Campaign.objects.get(name="Ready")
        texts = dict(Communication.objects.filter(campaign=campaign).values_list("to_number", "content"))
    detail = browser.get(launched["Location"]).content.decode()
    assert launched.status_code == 302 and launched["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.senders == POOL
    assert texts == {"+14155552671": "Hi Ann, your order is ready.", "+14155552672": "Hi Bob, your order is ready."}
    assert [row["row"] for row in campaign.invalid_rows] == [4, 5]  # the bad number, the missing first_name
    assert "Invalid rows (2)" in detail and "2 rows were not valid" in detail and "Senders (2)" in detail


@pytest.mark.parametrize(
    ("change", "field_error"),
    [
        ({"body": "Hi", "voice_message": "set"}, "Give the text or a voice message"),
        ({"file": "missing"}, "This field is required."),
        ({"file": b"phone\n+14155552671\n"}, "needs a header row with a &#x27;to&#x27; column"),
        ({"senders": ["+14155550999"]}, "Select a valid choice"),
        ({"channel": "call", "body": "Total {amount}~SSML~money"}, "Unknown SSML type"),
    ],
    ids=["text-and-voice-message", "no-file", "no-to-column", "unknown-sender", "bad-call-text"],
)
def test_a_refused_campaign_is_explained_on_the_form(
    alpha_on_twilio: TenantSetup, change: dict, field_error: str
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        reminder = VoiceMessage.objects.create(name="Reminder", template_text="Hi.")
    form: dict[str, object] = {"name": "Refused", "channel": "sms", "body": "Hi", "file": upload()}
    for key, value in change.items():
        if value == "missing":
            form.pop(key)
        elif value == "set":
            form[key] = reminder.pk
        else:
            form[key] = upload(value) if isinstance(value, bytes) else value

    response = signed_in(alpha_on_twilio).post("/campaigns/new/", form)

    assert response.status_code == 400 and field_error in response.content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        assert not Campaign.objects.exists() and not Communication.objects.exists()


def test_a_list_over_the_size_limit_is_refused_in_the_portal_and_the_api(
    alpha_on_twilio: TenantSetup, monkeypatch
) -> None:
    monkeypatch.setattr(uploads, "MAX_CSV_BYTES", len(LIST) - 1)

    page = signed_in(alpha_on_twilio).post(
        "/campaigns/new/", {"name": "Big", "channel": "sms", "body": "Hi", "file": upload()}
    )
    api = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        "/api/v1/campaigns/", {"name": "Big", "channel": "sms", "body": "Hi", "file": upload()}, format="multipart"
    )

    assert page.status_code == 400 and "at most 0 MB" in page.content.decode()
    assert api.status_code == 400 and "at most 0 MB" in api.json()["errors"]["file"][0]
    with tenant_context(alpha_on_twilio.tenant):
        assert not Campaign.objects.exists()


def test_viewers_do_not_launch_campaigns(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        user_create(tenant=alpha_on_twilio.tenant, email="look@alpha.test", role=Role.VIEWER, password=PASSWORD)
    viewer = signed_in(alpha_on_twilio, "look@alpha.test")

    assert "New campaign" not in viewer.get("/campaigns/").content.decode()
    assert viewer.get("/campaigns/new/").status_code == 403
    assert (
        viewer.post("/campaigns/new/", {"name": "x", "channel": "sms", "body": "Hi", "file": upload()}).status_code
        == 403
    )
    with tenant_context(alpha_on_twilio.tenant):
        assert not Campaign.objects.exists()
