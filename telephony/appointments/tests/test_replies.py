"""Customers' replies (appointment_reply_handle, called by the inbound SMS code in the tenant's schema):
C/Y confirm and R/N ask to reschedule the sender's nearest upcoming appointment, recorded, staff told."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.appointments.models import Appointment, Notification, StaffMember
from telephony.appointments.services import appointment_reply_handle
from telephony.appointments.tests.support import CUSTOMER
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def booked(
    hours: float, *, status: str = Appointment.Status.BOOKED, phone: str = CUSTOMER, **fields: Any
) -> Appointment:
    return Appointment.objects.create(
        customer_name="Ann Lee",
        phone_number=phone,
        starts_at=timezone.now() + timedelta(hours=hours),
        time_zone="America/New_York",
        service="Haircut",
        status=status,
        **fields,
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("C", "confirmed"),
        ("y", "confirmed"),
        ("  Yes \n", "confirmed"),
        ("confirm.", "confirmed"),
        ("R", "reschedule_requested"),
        ("n", "reschedule_requested"),
        ("No!", "reschedule_requested"),
        ("RESCHEDULE", "reschedule_requested"),
    ],
)
def test_a_keyword_sets_the_status_and_the_answer_is_returned(alpha: TenantSetup, body: str, status: str) -> None:
    with tenant_context(alpha.tenant):
        appointment = booked(48)
        Appointment.objects.filter(pk=appointment.pk).update(
            starts_at=datetime(2027, 7, 1, 14, 30, tzinfo=UTC)  # 10:30 in New York
        )

        answer = appointment_reply_handle(from_number=CUSTOMER, body=body)

        appointment.refresh_from_db()
        [log] = Notification.objects.filter(appointment=appointment)
    assert appointment.status == status
    when = "Thu Jul 1, 2027 at 10:30 AM"
    if status == "confirmed":
        assert answer == f"Thanks, your appointment on {when} is confirmed."
    else:
        assert answer is not None and answer.startswith(
            f"Thanks, we have noted that you would like to reschedule your appointment on {when}"
        )
    assert (log.kind, log.channel, log.recipient, log.body, log.reply_text) == (
        "reply_ack",
        "sms",
        CUSTOMER,
        answer,
        body.strip(),
    )


@pytest.mark.parametrize("body", ["", "C please", "maybe", "STOP", "CC", "yes no"])
def test_anything_else_is_not_about_an_appointment(alpha: TenantSetup, body: str) -> None:
    with tenant_context(alpha.tenant):
        appointment = booked(48)
        assert appointment_reply_handle(from_number=CUSTOMER, body=body) is None
        appointment.refresh_from_db()
        assert appointment.status == "booked" and not Notification.objects.exists()


def test_the_reply_is_about_the_senders_nearest_upcoming_open_appointment(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        past = booked(-2)
        cancelled = booked(1, status=Appointment.Status.CANCELLED)
        nearest = booked(5)
        later = booked(50)
        someone_else = booked(3, phone="+14155552672")

        assert appointment_reply_handle(from_number="+1 415 555 2671", body="C") is not None
        statuses = {a.pk: a.status for a in Appointment.objects.all()}
    assert statuses[nearest.pk] == "confirmed"
    assert [statuses[a.pk] for a in (past, cancelled, later, someone_else)] == [
        "booked",
        "cancelled",
        "booked",
        "booked",
    ]


def test_no_upcoming_appointment_means_no_answer(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        booked(-1)
        booked(5, status=Appointment.Status.COMPLETED)
        assert appointment_reply_handle(from_number=CUSTOMER, body="C") is None
        assert appointment_reply_handle(from_number="+19999", body="C") is None
        assert not Notification.objects.exists()


def test_a_reply_is_passed_on_to_the_staff_member(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria", phone_number="+14155550111", email="maria@alpha.test")
        appointment = booked(48, staff=maria)
        Appointment.objects.filter(pk=appointment.pk).update(starts_at=datetime(2027, 7, 1, 14, 30, tzinfo=UTC))
        with django_capture_on_commit_callbacks(execute=True):
            appointment_reply_handle(from_number=CUSTOMER, body="r")
        staff = {n.channel: n for n in Notification.objects.select_related("communication").filter(kind="staff")}

    assert set(staff) == {"sms", "email"}
    assert staff["sms"].body == (
        "Ann Lee (+14155552671) replied \u201cr\u201d about Haircut on Thu Jul 1, 2027 at 10:30 AM: reschedule requested."
    )
    assert staff["sms"].communication is not None and staff["sms"].communication.to_number == "+14155550111"
    assert staff["email"].subject == "Ann Lee: reschedule requested" and staff["email"].reply_text == "r"
    assert sorted(task.name for task in queued_tasks) == [
        "telephony.appointments.tasks.send_notification_email",
        "telephony.tasks.deliver_communications",
    ]


def test_replies_stay_within_their_tenant(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        theirs = booked(48)
    with tenant_context(beta.tenant):
        assert appointment_reply_handle(from_number=CUSTOMER, body="C") is None
    with tenant_context(alpha.tenant):
        theirs.refresh_from_db()
        assert theirs.status == "booked"
