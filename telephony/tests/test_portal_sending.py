"""Sending from the portal, following one communication, and the error log page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.models import Communication, OptOut
from telephony.records import platform_error_record
from telephony.statuses import Status
from tenants.accounts.roles import Role
from tenants.services import user_create
from testsupport.tenants import PASSWORD, TenantSetup
from testsupport.twilio import SENDER
from voice.models import VoiceMessage
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

TO = "+14155552671"


def only_communication(setup: TenantSetup) -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.get()


def test_an_sms_sent_from_the_portal_is_followed_and_canceled(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio)
    with tenant_context(alpha_on_twilio.tenant):
        reminder = VoiceMessage.objects.create(name="Reminder", template_text="Hi {name}, see you at {time}.")
    form = {
        "channel": "sms",
        "to": "+1 (415) 555-2671",
        "voice_message": reminder.pk,
        "variables": "name=Ann\ntime = 9:30\n",
    }

    sent = browser.post("/communications/new/", form)
    sms = only_communication(alpha_on_twilio)
    following = browser.get(f"/communications/{sms.pk}/").content.decode()
    canceled = browser.post(f"/communications/{sms.pk}/cancel/", follow=True).content.decode()

    assert sent.status_code == 302 and sent["Location"] == f"/communications/{sms.pk}/"
    assert (sms.to_number, sms.from_number, sms.content, sms.status) == (
        TO,
        SENDER,
        "Hi Ann, see you at 9:30.",
        Status.PENDING,
    )
    assert "Hi Ann, see you at 9:30." in following and "GSM-7, 1 segment" in following
    assert 'http-equiv="refresh"' in following and ">Cancel</button>" in following
    assert only_communication(alpha_on_twilio).status == Status.CANCELED
    assert "Canceled." in canceled and 'http-equiv="refresh"' not in canceled and ">Cancel</button>" not in canceled


def test_a_refused_send_is_explained_on_its_field_and_records_nothing(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        OptOut.objects.create(phone_number=TO, source=OptOut.Source.STOP_REPLY)
        greeting = VoiceMessage.objects.create(name="Reminder", template_text="Hello {name}, your visit is at {time}.")
    browser = signed_in(alpha_on_twilio)

    opted_out = browser.post("/communications/new/", {"channel": "sms", "to": TO, "body": "Hi"})
    missing = browser.post(
        "/communications/new/",
        {"channel": "call", "to": "+14155552672", "voice_message": greeting.pk, "variables": "name=Ann"},
    )
    malformed = browser.post(
        "/communications/new/", {"channel": "sms", "to": "+14155552672", "body": "Hi", "variables": "just words"}
    )
    unknown_sender = browser.post(
        "/communications/new/", {"channel": "sms", "to": "+14155552672", "body": "Hi", "from_number": "+14155550999"}
    )

    assert opted_out.status_code == 400 and "opted out" in opted_out.content.decode().lower()
    assert missing.status_code == 400 and "Missing variables time." in missing.content.decode()
    assert malformed.status_code == 400 and "Line 1: write name=value." in malformed.content.decode()
    assert unknown_sender.status_code == 400 and "Select a valid choice" in unknown_sender.content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        assert not Communication.objects.exists()


def test_a_call_with_a_voice_message_is_placed_from_the_portal(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        greeting = VoiceMessage.objects.create(name="Reminder", template_text="Hello {name}.")
    browser = signed_in(alpha_on_twilio)

    sent = browser.post(
        "/communications/new/", {"channel": "call", "to": TO, "voice_message": greeting.pk, "variables": "name=Ann"}
    )

    call = only_communication(alpha_on_twilio)
    assert sent.status_code == 302
    assert (call.channel, call.voice_message_id, call.variables) == ("call", greeting.pk, {"name": "Ann"})


def test_viewers_follow_but_do_not_send_or_cancel(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        user_create(tenant=alpha_on_twilio.tenant, email="look@alpha.test", role=Role.VIEWER, password=PASSWORD)
        pending = Communication.objects.create(
            channel="sms", to_number=TO, from_number=SENDER, content="Your table for 4 is ready"
        )
    viewer = signed_in(alpha_on_twilio, "look@alpha.test")

    log = viewer.get("/communications/").content.decode()
    assert "Send an SMS or call" not in log and ">Errors</a>" not in log
    assert viewer.get("/communications/new/").status_code == 403
    assert viewer.post("/communications/new/", {"channel": "sms", "to": TO, "body": "Hi"}).status_code == 403
    detail = viewer.get(f"/communications/{pending.pk}/").content.decode()
    assert "Your table for 4 is ready" in detail and ">Cancel</button>" not in detail
    assert viewer.post(f"/communications/{pending.pk}/cancel/").status_code == 403
    assert viewer.get("/errors/").status_code == 403
    assert only_communication(alpha_on_twilio).status == Status.PENDING


def test_admins_read_the_error_log_with_what_each_error_concerns(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        failed = Communication.objects.create(channel="sms", to_number=TO, from_number=SENDER, status=Status.FAILED)
        platform_error_record(
            source="task:deliver", message="Twilio refused the sender.", twilio_code=21606, communication=failed
        )
    browser = signed_in(alpha)

    errors = browser.get("/errors/").content.decode()
    detail = browser.get(f"/communications/{failed.pk}/").content.decode()

    assert (
        "Twilio refused the sender." in errors
        and "21606" in errors
        and f'href="/communications/{failed.pk}/"' in errors
    )
    assert 'href="/errors/">Errors</a>' in detail  # in the admin's navigation
    assert "Platform errors" in detail and "task:deliver" in detail


def test_another_tenants_communications_and_errors_stay_hidden(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        pending = Communication.objects.create(channel="sms", to_number=TO, from_number=SENDER, content="alpha only")
        platform_error_record(source="task:deliver", message="alpha's failure")
    beta_browser = signed_in(beta)

    assert beta_browser.get(f"/communications/{pending.pk}/").status_code == 404
    assert beta_browser.post(f"/communications/{pending.pk}/cancel/").status_code == 404
    assert "alpha's failure" not in beta_browser.get("/errors/").content.decode()
    assert only_communication(alpha).status == Status.PENDING


def test_a_call_text_that_does_not_parse_is_refused_on_its_field(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio)

    response = browser.post("/communications/new/", {"channel": "call", "to": TO, "body": "Total {amount}~SSML~money"})

    assert response.status_code == 400 and "Unknown SSML type &#x27;money&#x27;" in response.content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        assert not Communication.objects.exists()


@pytest.mark.parametrize(
    ("status", "minutes_since_change", "refreshes"),
    [
        (Status.PENDING, 0, True),
        (Status.SENT, 1, True),
        (Status.SENT, 30, False),  # its delivery receipt never came
        (Status.SCHEDULED, 0, False),  # due days ahead
        (Status.DELIVERED, 0, False),
    ],
)
def test_a_communications_page_follows_it_only_while_it_is_on_its_way(
    alpha: TenantSetup, status: str, minutes_since_change: int, refreshes: bool
) -> None:
    with tenant_context(alpha.tenant):
        item = Communication.objects.create(channel="sms", to_number=TO, from_number=SENDER, status=status)
        Communication.objects.filter(pk=item.pk).update(
            updated_at=timezone.now() - timedelta(minutes=minutes_since_change)
        )

    page = signed_in(alpha).get(f"/communications/{item.pk}/").content.decode()

    assert ('http-equiv="refresh"' in page) is refreshes
