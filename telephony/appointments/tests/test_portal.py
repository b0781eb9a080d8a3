"""The portal's appointment pages: viewers read them, operators book, import, send and change settings there."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from telephony.appointments.models import Appointment, AppointmentSettings, Notification, StaffMember
from telephony.appointments.tests.support import CUSTOMER, book
from testsupport.tenants import TenantSetup
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db


def test_a_viewer_reads_every_page_and_is_offered_no_action(alpha_on_twilio: TenantSetup, viewer_key: str) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        StaffMember.objects.create(name="Maria", phone_number="+14155550111")
    appointment_id = book(alpha_on_twilio, customer_name="Ann Lee", starts_at="2027-07-01T10:30:00").json()["id"]
    viewer = alpha_on_twilio.client()
    key = f"?apiKey={viewer_key}"

    listing = viewer.get(f"/appointments/{key}")
    detail = viewer.get(f"/appointments/{appointment_id}/{key}")
    settings_page = viewer.get(f"/appointments/settings/{key}")

    assert [page.status_code for page in (listing, detail, settings_page)] == [200, 200, 200]
    listed = listing.content.decode()
    assert "Ann Lee" in listed and "Confirmation: queued" in listed and 'class="tag stage-queued"' in listed
    assert f'href="/appointments/{appointment_id}/{key}"' in listed and "Book</a>" not in listed
    shown = detail.content.decode()
    assert "Thu 2027-07-01 10:30</a>" in listed
    assert "Thu Jul 1, 2027 at 10:30 AM (America/New_York)" in shown and "Reply C to confirm" in shown
    assert "Send reminder" not in shown and "Cancel appointment" not in shown
    settings_text = settings_page.content.decode()
    assert (
        "Maria" in settings_text and "1440, 120" in settings_text and "<button" not in settings_text.split("<main>")[1]
    )
    assert ">Appointments</a>" in listed  # in the navigation


def test_a_viewers_posts_are_refused_and_change_nothing(alpha_on_twilio: TenantSetup, viewer_key: str) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria")
    appointment_id = book(alpha_on_twilio).json()["id"]
    viewer = alpha_on_twilio.client()
    key = f"?apiKey={viewer_key}"
    csv = SimpleUploadedFile(
        "a.csv", b"customer_name,phone_number,starts_at,service\nBo,+14155552672,2027-07-01 10:00,Cut\n"
    )

    responses = [
        viewer.get(f"/appointments/new/{key}"),
        viewer.post(f"/appointments/new/{key}", {"customer_name": "Bo", "phone_number": CUSTOMER}),
        viewer.get(f"/appointments/import/{key}"),
        viewer.post(f"/appointments/import/{key}", {"file": csv}),
        viewer.post(f"/appointments/{appointment_id}/send/reminder/{key}"),
        viewer.post(f"/appointments/{appointment_id}/send/confirmation/{key}"),
        viewer.post(f"/appointments/{appointment_id}/cancel/{key}"),
        viewer.post(f"/appointments/settings/{key}", {"reminder_offsets": "5", "default_time_zone": "UTC"}),
        viewer.post(f"/appointments/staff/add/{key}", {"name": "Zed"}),
        viewer.post(f"/appointments/staff/{maria.pk}/remove/{key}"),
    ]

    assert [r.status_code for r in responses] == [403] * len(responses)
    assert "needs the operator role" in responses[1].content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        assert list(Appointment.objects.values_list("status", flat=True)) == ["booked"]
        assert Notification.objects.count() == 1  # the booking's confirmation only
        assert not AppointmentSettings.objects.exists()
        assert list(StaffMember.objects.values_list("name", flat=True)) == ["Maria"]


def test_an_operator_books_sends_and_cancels_in_the_portal(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria")
    browser = signed_in(alpha_on_twilio)
    form = {
        "customer_name": "Ann Lee",
        "phone_number": "+1 415 555 2671",
        "staff": maria.pk,
        "starts_at": "2027-07-01T10:30",
        "time_zone": "Europe/Berlin",
        "service": "Colour",
        "send_confirmation": "on",
    }

    refused = browser.post("/appointments/new/", {**form, "starts_at": "2027-03-28T02:30"})
    booked = browser.post("/appointments/new/", form)

    assert refused.status_code == 400 and "does not exist in Europe/Berlin" in refused.content.decode()
    assert booked.status_code == 302
    with tenant_context(alpha_on_twilio.tenant):
        appointment = Appointment.objects.get()
    assert booked["Location"] == f"/appointments/{appointment.pk}/"
    assert appointment.starts_at == datetime(2027, 7, 1, 8, 30, tzinfo=UTC) and appointment.staff_id == maria.pk

    sent = browser.post(f"/appointments/{appointment.pk}/send/reminder/", follow=True).content.decode()
    assert "Reminder queued to +14155552671." in sent and "Reminder: your Colour appointment" in sent
    cancelled = browser.post(f"/appointments/{appointment.pk}/cancel/", follow=True).content.decode()
    assert "Cancelled: no more reminders" in cancelled and "Send reminder" not in cancelled
    again = browser.post(f"/appointments/{appointment.pk}/send/reminder/", follow=True).content.decode()
    assert "The appointment is cancelled; it gets no more notifications." in again
    with tenant_context(alpha_on_twilio.tenant):
        assert sorted(Notification.objects.values_list("kind", flat=True)) == ["confirmation", "reminder"]


def test_an_operator_imports_a_csv_and_sees_the_rows_left_out(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio)
    csv = SimpleUploadedFile(
        "a.csv",
        b"customer_name,phone_number,starts_at,service\n"
        b"Bo,+14155552672,2027-07-01 10:00,Cut\n"
        b"Cy,12,2027-07-01 11:00,Cut\n",
    )

    page = browser.post("/appointments/import/", {"file": csv, "send_confirmations": "on"})

    text = page.content.decode()
    assert page.status_code == 200 and "1 appointment imported; 1 row not (listed below)." in text
    assert "<td>3</td>" in text and "phone_number" in text
    with tenant_context(alpha_on_twilio.tenant):
        assert list(Appointment.objects.values_list("customer_name", flat=True)) == ["Bo"]


def test_an_operator_changes_the_settings_and_the_staff(alpha: TenantSetup) -> None:
    browser = signed_in(alpha)
    settings_form = {
        "reminder_offsets": "60, 1440",
        "confirmation_template": "Booked: {date} {time}",
        "reminder_template": "Soon: {time}",
        "default_time_zone": "America/Chicago",
    }

    bad = browser.post("/appointments/settings/", {**settings_form, "reminder_template": "Soon {when}"})
    saved = browser.post("/appointments/settings/", settings_form, follow=True)
    added = browser.post("/appointments/staff/add/", {"name": "Maria", "email": "maria@alpha.test"}, follow=True)

    assert bad.status_code == 400 and "{when} is not one of" in bad.content.decode()
    assert "Settings saved." in saved.content.decode() and "1440, 60" in saved.content.decode()
    assert "Maria added." in added.content.decode()
    with tenant_context(alpha.tenant):
        stored = AppointmentSettings.objects.get()
        maria = StaffMember.objects.get()
    assert (stored.reminder_offsets, stored.staff_notifications, stored.default_time_zone) == (
        [1440, 60],
        False,  # the box was left unticked
        "America/Chicago",
    )
    removed = browser.post(f"/appointments/staff/{maria.pk}/remove/", follow=True).content.decode()
    assert "Maria removed" in removed
