"""A reminder from beat through a real Celery worker to the Twilio sandbox, on committed data: two beats
releasing at once, and it reaches the sandbox once; Twilio's callbacks, through a real web server, make its
notification delivered."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from telephony.appointments.models import Appointment
from telephony.appointments.tasks import release_due_reminders
from telephony.appointments.tests.support import URL
from telephony.models import Communication
from tenants.db import connection
from testsupport.processes import PlatformProcesses, eventually
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog

pytestmark = pytest.mark.worker
CUSTOMER = "+14155559301"


def test_a_reminder_released_by_two_beats_at_once_reaches_the_sandbox_once(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    client = committed_alpha.client(committed_alpha.admin_key)

    def to_customer(text: str) -> list[dict[str, Any]]:
        return [m for m in sandbox_log.items("messages") if m["to"] == CUSTOMER and m["body"].startswith(text)]

    def notifications(appointment_id: int) -> dict[str, dict[str, Any]]:
        listed = client.get(f"{URL}{appointment_id}/notifications/").json()["results"]
        connection.set_schema_to_public()
        return {n["kind"]: n for n in listed}

    with django_db_blocker.unblock():
        starts_at = timezone.now() + timedelta(minutes=119)  # its two-hour reminder is due
        response = client.post(
            URL,
            {
                "customer_name": "Ann Lee",
                "phone_number": CUSTOMER,
                "starts_at": starts_at.isoformat(),
                "time_zone": "America/New_York",
                "service": "Haircut",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        appointment_id = response.json()["id"]
        with tenant_context(committed_alpha.tenant):
            # Booked yesterday: a reminder whose moment came after the booking.
            Appointment.objects.filter(pk=appointment_id).update(created_at=timezone.now() - timedelta(days=1))
        connection.set_schema_to_public()

        first_beat = release_due_reminders.delay()
        second_beat = release_due_reminders.delay()
        [reminder] = eventually(lambda: to_customer("Reminder:"), "the reminder at the sandbox", platform_processes)
        eventually(lambda: to_customer("Hi Ann Lee"), "the confirmation at the sandbox", platform_processes)
        delivered = eventually(
            lambda: n if (n := notifications(appointment_id))["reminder"]["status"] == "delivered" else None,
            "the reminder's delivered callback",
            platform_processes,
        )
        time.sleep(1.0)
        third_beat = release_due_reminders()  # here, in the test's process: nothing is left to release
        connection.set_schema_to_public()

    assert first_beat.id != second_beat.id and third_beat == 0
    assert len(to_customer("Reminder:")) == 1 and len(to_customer("Hi Ann Lee")) == 1
    assert delivered["reminder"]["offset_minutes"] == 120 and delivered["reminder"]["body"] == reminder["body"]
    assert "Reminder: your Haircut appointment with our team at Alpha is on" in reminder["body"]
    with django_db_blocker.unblock(), tenant_context(committed_alpha.tenant):
        sms = Communication.objects.get(pk=delivered["reminder"]["communication_id"])
    connection.set_schema_to_public()
    assert sms.twilio_sid == reminder["sid"]
