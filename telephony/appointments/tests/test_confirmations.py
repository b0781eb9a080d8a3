"""A booking's confirmation SMS: recorded with the booking, queued once it commits, through the platform's
outbound checks; a refusal is recorded on the notification, never answered to whoever booked. Staff are told.
Confirmations and reminders on demand."""

from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django_tenants.utils import tenant_context

from telephony.appointments import services
from telephony.appointments.models import Appointment, Notification, StaffMember
from telephony.appointments.tasks import EMAIL_RETRIES, send_notification_email
from telephony.appointments.tests.support import CUSTOMER, URL, book
from telephony.models import Communication, OptOut
from telephony.statuses import Status
from tenants.models import Tenant
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db

DELIVER_GROUP = "telephony.tasks.deliver_communications"
SEND_EMAIL = "telephony.appointments.tasks.send_notification_email"


def notifications(setup: TenantSetup, appointment_id: int) -> list[dict[str, Any]]:
    response = setup.client(setup.admin_key).get(f"{URL}{appointment_id}/notifications/")
    assert response.status_code == 200
    return response.json()["results"]


def test_the_confirmation_is_recorded_with_the_booking_and_queued_once_it_commits(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = book(alpha_on_twilio, starts_at="2027-07-01T10:30:00", time_zone="America/New_York")
        assert response.status_code == 201
        assert queued_tasks == []  # not before the booking is committed
    for callback in callbacks:
        callback()

    [notification] = notifications(alpha_on_twilio, response.json()["id"])
    assert (notification["kind"], notification["channel"], notification["status"]) == ("confirmation", "sms", "queued")
    assert notification["recipient"] == CUSTOMER and notification["reason"] == ""
    assert queued_tasks == [
        QueuedTask(
            DELIVER_GROUP,
            {"communication_ids": [notification["communication_id"]]},
            schema=alpha_on_twilio.tenant.schema_name,
            countdown=None,
        )
    ]
    with tenant_context(alpha_on_twilio.tenant):
        sms = Communication.objects.get(pk=notification["communication_id"])
    assert (sms.to_number, sms.from_number, sms.status, sms.channel) == (CUSTOMER, SENDER, "pending", "sms")
    assert (
        sms.content
        == notification["body"]
        == (
            "Hi Ann Lee, your Haircut appointment with our team at Alpha is booked for Thu Jul 1, 2027 at 10:30 AM. "
            "Reply C to confirm or R to reschedule."
        )
    )


def test_a_booking_rolled_back_queues_nothing(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    fields = services.AppointmentFields(
        customer_name="Ann", phone_number=CUSTOMER, starts_at=services.timezone.now().replace(year=2030), service="Cut"
    )
    with tenant_context(alpha_on_twilio.tenant), django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.appointment_create(tenant=alpha_on_twilio.tenant, fields=fields)
            raise RuntimeError("the caller's transaction fails")
        assert not Appointment.objects.exists() and not Communication.objects.exists()
    assert callbacks == [] and queued_tasks == []


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        ("opted-out", "+14155552671 has opted out of messages"),
        ("daily-limit", "The limit of 0 messages per 24 hours is reached"),
        ("country", "Destination country GB is not allowed"),
    ],
)
def test_a_refused_confirmation_is_recorded_as_failed_and_the_booking_stands(
    alpha_on_twilio: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: Any,
    refusal: str,
    reason: str,
) -> None:
    phone = CUSTOMER
    if refusal == "opted-out":
        with tenant_context(alpha_on_twilio.tenant):
            OptOut.objects.create(phone_number=CUSTOMER, source=OptOut.Source.STOP_REPLY)
    elif refusal == "daily-limit":
        Tenant.objects.filter(pk=alpha_on_twilio.tenant.pk).update(max_messages_per_day=0)
    else:
        phone = "+442071838750"

    with django_capture_on_commit_callbacks(execute=True):
        response = book(alpha_on_twilio, phone_number=phone)

    assert response.status_code == 201, response.json()
    [notification] = notifications(alpha_on_twilio, response.json()["id"])
    assert (notification["kind"], notification["status"], notification["communication_id"]) == (
        "confirmation",
        "failed",
        None,
    )
    assert reason in notification["reason"]
    assert queued_tasks == []
    with tenant_context(alpha_on_twilio.tenant):
        assert not Communication.objects.exists()


def test_without_twilio_the_confirmation_fails_with_why(alpha: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    response = book(alpha)

    assert response.status_code == 201
    [notification] = notifications(alpha, response.json()["id"])
    assert notification["status"] == "failed" and "no default sender" in notification["reason"]


def test_the_staff_member_is_told_by_sms_and_email(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria", phone_number="+14155550111", email="maria@alpha.test")

    with django_capture_on_commit_callbacks(execute=True):
        response = book(alpha_on_twilio, staff_id=maria.pk, starts_at="2027-07-01T10:30:00")

    by_channel = {(n["kind"], n["channel"]): n for n in notifications(alpha_on_twilio, response.json()["id"])}
    assert set(by_channel) == {("confirmation", "sms"), ("staff", "sms"), ("staff", "email")}
    staff_sms, staff_email = by_channel[("staff", "sms")], by_channel[("staff", "email")]
    assert staff_sms["recipient"] == "+14155550111" and staff_email["recipient"] == "maria@alpha.test"
    assert staff_sms["body"] == ("New appointment: Ann Lee (+14155552671), Haircut, Thu Jul 1, 2027 at 10:30 AM.")
    assert staff_email["status"] == "queued" and staff_email["communication_id"] is None
    # The two SMS go out as one group; the e-mail has its own task.
    [group, email_task] = queued_tasks
    assert group.name == DELIVER_GROUP and sorted(group.kwargs["communication_ids"]) == sorted(
        [by_channel[("confirmation", "sms")]["communication_id"], staff_sms["communication_id"]]
    )
    assert email_task == QueuedTask(
        SEND_EMAIL, {"notification_id": staff_email["id"]}, schema=alpha_on_twilio.tenant.schema_name, countdown=None
    )

    with tenant_context(alpha_on_twilio.tenant):
        send_notification_email.apply(kwargs=email_task.kwargs)  # what the worker runs
        send_notification_email.apply(kwargs=email_task.kwargs)  # delivered twice, sent once
    assert [message.to for message in mail.outbox] == [["maria@alpha.test"]]
    assert mail.outbox[0].subject == "New appointment: Ann Lee, Thu Jul 1, 2027 at 10:30 AM"
    sent = {n["id"]: n for n in notifications(alpha_on_twilio, response.json()["id"])}[staff_email["id"]]
    assert sent["status"] == "sent"


def test_staff_are_not_told_when_the_settings_say_so(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    client.patch(f"{URL}settings/", {"staff_notifications": False}, format="json")
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria", phone_number="+14155550111", email="maria@alpha.test")

    with django_capture_on_commit_callbacks(execute=True):
        response = book(alpha_on_twilio, staff_id=maria.pk)
        quiet = book(alpha_on_twilio, staff_id=maria.pk, send_confirmation=False)

    assert [n["kind"] for n in notifications(alpha_on_twilio, response.json()["id"])] == ["confirmation"]
    assert notifications(alpha_on_twilio, quiet.json()["id"]) == []
    assert [task.name for task in queued_tasks] == [DELIVER_GROUP]


def test_an_email_the_mail_server_refuses_is_retried_then_failed(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria", email="maria@alpha.test")
    appointment_id = book(alpha_on_twilio, staff_id=maria.pk).json()["id"]
    [email] = [n for n in notifications(alpha_on_twilio, appointment_id) if n["channel"] == "email"]

    attempts: list[str] = []

    def refuse(**message: Any) -> None:
        attempts.append(message["recipient_list"][0])
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr("telephony.appointments.emails.send_mail", refuse)
    with tenant_context(alpha_on_twilio.tenant):
        # Run eagerly, the task's retries follow one another at once.
        send_notification_email.apply(kwargs={"notification_id": email["id"]})
        failed = Notification.objects.get(pk=email["id"])

    assert attempts == ["maria@alpha.test"] * (EMAIL_RETRIES + 1)
    assert failed.status == "failed" and "connection refused" in failed.reason


def test_confirmation_and_reminder_on_demand(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    appointment_id = book(alpha_on_twilio, send_confirmation=False).json()["id"]
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    with django_capture_on_commit_callbacks(execute=True):
        confirmation = client.post(f"{URL}{appointment_id}/confirmation/")
        reminder = client.post(f"{URL}{appointment_id}/reminder/")
        again = client.post(f"{URL}{appointment_id}/reminder/")

    assert [r.status_code for r in (confirmation, reminder, again)] == [202, 202, 202]
    assert (confirmation.json()["kind"], reminder.json()["kind"]) == ("confirmation", "reminder")
    assert reminder.json()["offset_minutes"] is None and reminder.json()["body"].startswith("Reminder: your Haircut")
    assert len(queued_tasks) == 3 and all(task.name == DELIVER_GROUP for task in queued_tasks)
    assert len(notifications(alpha_on_twilio, appointment_id)) == 3


def test_on_demand_refusals_are_answered_and_recorded(alpha_on_twilio: TenantSetup) -> None:
    appointment_id = book(alpha_on_twilio, send_confirmation=False).json()["id"]
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    with tenant_context(alpha_on_twilio.tenant):
        OptOut.objects.create(phone_number=CUSTOMER, source=OptOut.Source.STOP_REPLY)

    opted_out = client.post(f"{URL}{appointment_id}/confirmation/")
    client.delete(f"{URL}{appointment_id}/")
    cancelled = client.post(f"{URL}{appointment_id}/reminder/")

    assert opted_out.status_code == 422 and opted_out["Content-Type"] == "application/problem+json"
    assert opted_out.json()["type"].endswith("notification-refused") and "opted out" in opted_out.json()["detail"]
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["detail"]
    [recorded] = notifications(alpha_on_twilio, appointment_id)
    assert (recorded["kind"], recorded["status"]) == ("confirmation", "failed")


def test_a_notifications_status_is_its_sms_status(
    alpha_on_twilio: TenantSetup, django_capture_on_commit_callbacks: Any
) -> None:
    first = book(alpha_on_twilio).json()["id"]
    second = book(alpha_on_twilio, phone_number="+14155552672").json()["id"]
    [delivered] = notifications(alpha_on_twilio, first)
    [undelivered] = notifications(alpha_on_twilio, second)
    with tenant_context(alpha_on_twilio.tenant):
        Communication.objects.filter(pk=delivered["communication_id"]).update(status=Status.DELIVERED)
        Communication.objects.filter(pk=undelivered["communication_id"]).update(
            status=Status.UNDELIVERED, error_code="30003", error_message="Unreachable destination handset"
        )

    [now_delivered] = notifications(alpha_on_twilio, first)
    [now_failed] = notifications(alpha_on_twilio, second)
    assert now_delivered["status"] == "delivered"
    assert (now_failed["status"], now_failed["reason"]) == ("failed", "30003 Unreachable destination handset")


def test_cancelling_calls_off_what_has_not_gone_yet(alpha_on_twilio: TenantSetup) -> None:
    appointment_id = book(alpha_on_twilio).json()["id"]
    [confirmation] = notifications(alpha_on_twilio, appointment_id)

    alpha_on_twilio.client(alpha_on_twilio.admin_key).delete(f"{URL}{appointment_id}/")

    [after] = notifications(alpha_on_twilio, appointment_id)
    assert (after["status"], after["reason"]) == ("failed", "Canceled before it was sent.")
    with tenant_context(alpha_on_twilio.tenant):
        assert Communication.objects.get(pk=confirmation["communication_id"]).status == Status.CANCELED
