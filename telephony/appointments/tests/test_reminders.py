"""Reminders at the settings' offsets: real elapsed minutes before the start instant, in two time zones
across the 2026 changes of the clocks; not for cancelled, completed or past appointments; released in groups."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.appointments.models import Appointment, Notification
from telephony.appointments.reminders import reminders_release
from telephony.appointments.services import appointment_settings_update
from telephony.appointments.tasks import release_due_reminders
from telephony.appointments.tests.support import CUSTOMER
from telephony.models import Communication, OptOut
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import connect_to_sandbox

pytestmark = pytest.mark.django_db

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def booked(
    starts_at: datetime,
    time_zone: str = "UTC",
    *,
    status: str = Appointment.Status.BOOKED,
    created_at: datetime = LONG_AGO,
    phone_number: str = CUSTOMER,
) -> Appointment:
    """In the current tenant's schema, booked at `created_at`."""
    appointment = Appointment.objects.create(
        customer_name="Ann Lee",
        phone_number=phone_number,
        starts_at=starts_at,
        time_zone=time_zone,
        service="Haircut",
        status=status,
    )
    Appointment.objects.filter(pk=appointment.pk).update(created_at=created_at)
    return appointment


def reminders(appointment: Appointment) -> list[tuple[int | None, str]]:
    return list(
        Notification.objects.filter(appointment=appointment, kind="reminder")
        .order_by("created_at", "id")
        .values_list("offset_minutes", "body")
    )


@pytest.mark.parametrize(
    ("time_zone", "start", "day_ahead_local"),
    [
        # Spring: the day before has one hour more, so a day of real time ahead is an hour earlier by the clock.
        ("America/New_York", datetime(2026, 3, 8, 10, 0), datetime(2026, 3, 7, 9, 0)),
        ("Europe/Berlin", datetime(2026, 3, 29, 10, 0), datetime(2026, 3, 28, 9, 0)),
        # Autumn: the other way round.
        ("America/New_York", datetime(2026, 11, 1, 10, 0), datetime(2026, 10, 31, 11, 0)),
        ("Europe/Berlin", datetime(2026, 10, 25, 10, 0), datetime(2026, 10, 24, 11, 0)),
    ],
)
def test_each_offset_is_real_minutes_before_the_start_across_a_change_of_the_clocks(
    alpha_on_twilio: TenantSetup, time_zone: str, start: datetime, day_ahead_local: datetime
) -> None:
    tenant = alpha_on_twilio.tenant
    zone = ZoneInfo(time_zone)
    # In UTC: Python subtracts a timedelta from a zoned datetime on its wall clock.
    starts_at = start.replace(tzinfo=zone).astimezone(UTC)
    day_ahead = starts_at - timedelta(minutes=1440)
    two_hours_ahead = starts_at - timedelta(minutes=120)
    with tenant_context(tenant):
        appointment = booked(starts_at, time_zone)

        assert reminders_release(tenant=tenant, now=day_ahead - SECOND) == 0
        assert reminders_release(tenant=tenant, now=day_ahead) == 1
        assert reminders_release(tenant=tenant, now=day_ahead + SECOND) == 0
        assert reminders_release(tenant=tenant, now=two_hours_ahead - SECOND) == 0
        assert reminders_release(tenant=tenant, now=two_hours_ahead) == 1
        assert reminders_release(tenant=tenant, now=starts_at - SECOND) == 0
        sent = reminders(appointment)

    assert day_ahead.astimezone(zone).replace(tzinfo=None) == day_ahead_local  # the documented choice
    local = f"{start:%a %b} {start.day}, 2026 at 10:00 AM"
    assert [offset for offset, _ in sent] == [1440, 120]
    assert all(f"is on {local}." in body for _, body in sent), sent


def test_two_zones_in_one_release_each_at_its_own_instant(alpha_on_twilio: TenantSetup) -> None:
    tenant = alpha_on_twilio.tenant
    # 10:00 local on the same calendar day is 14:00 UTC in New York and 09:00 UTC in Berlin (2026-03-29 is
    # Berlin's change day; New York changed three weeks before).
    with tenant_context(tenant):
        new_york = booked(datetime(2026, 3, 29, 10, tzinfo=ZoneInfo("America/New_York")), "America/New_York")
        berlin = booked(datetime(2026, 3, 29, 10, tzinfo=ZoneInfo("Europe/Berlin")), "Europe/Berlin")

        at_berlins = reminders_release(tenant=tenant, now=datetime(2026, 3, 28, 8, 0, tzinfo=UTC))
        berlin_only = (reminders(new_york), [offset for offset, _ in reminders(berlin)])
        at_new_yorks = reminders_release(tenant=tenant, now=datetime(2026, 3, 28, 14, 0, tzinfo=UTC))

        assert (at_berlins, berlin_only, at_new_yorks) == (1, ([], [1440]), 1)
        assert [offset for offset, _ in reminders(new_york)] == [1440]


def test_no_reminders_for_cancelled_completed_or_past_appointments(alpha_on_twilio: TenantSetup) -> None:
    tenant = alpha_on_twilio.tenant
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with tenant_context(tenant):
        cancelled = booked(now + timedelta(minutes=60), status=Appointment.Status.CANCELLED)
        completed = booked(now + timedelta(minutes=60), status=Appointment.Status.COMPLETED)
        started = booked(now - timedelta(minutes=1))
        starting_now = booked(now)
        confirmed = booked(now + timedelta(minutes=60), status=Appointment.Status.CONFIRMED)
        asked_to_move = booked(now + timedelta(minutes=60), status=Appointment.Status.RESCHEDULE_REQUESTED)

        assert reminders_release(tenant=tenant, now=now) == 2
        assert [bool(reminders(a)) for a in (cancelled, completed, started, starting_now)] == [False] * 4
        assert reminders(confirmed) and reminders(asked_to_move)


def test_a_reminder_whose_moment_passed_before_the_booking_is_not_sent(alpha_on_twilio: TenantSetup) -> None:
    tenant = alpha_on_twilio.tenant
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    starts_at = now + timedelta(hours=5)
    with tenant_context(tenant):
        # Booked five hours ahead: the confirmation stands in for the day-ahead reminder.
        appointment = booked(starts_at, created_at=now)

        assert reminders_release(tenant=tenant, now=now + timedelta(minutes=1)) == 0
        assert reminders_release(tenant=tenant, now=starts_at - timedelta(minutes=120)) == 1
        assert [offset for offset, _ in reminders(appointment)] == [120]


def test_after_beat_was_stopped_the_customer_gets_the_nearest_reminder_only(alpha_on_twilio: TenantSetup) -> None:
    tenant = alpha_on_twilio.tenant
    starts_at = datetime(2026, 6, 2, 12, tzinfo=UTC)
    with tenant_context(tenant):
        appointment = booked(starts_at)

        assert reminders_release(tenant=tenant, now=starts_at - timedelta(minutes=90)) == 1
        assert reminders_release(tenant=tenant, now=starts_at - timedelta(minutes=30)) == 0
        assert [offset for offset, _ in reminders(appointment)] == [120]


def test_the_offsets_and_text_come_from_the_settings(alpha_on_twilio: TenantSetup) -> None:
    tenant = alpha_on_twilio.tenant
    starts_at = datetime(2026, 6, 2, 12, tzinfo=UTC)
    with tenant_context(tenant):
        appointment_settings_update(changes={"reminder_offsets": [30, 45], "reminder_template": "See you at {time}!"})
        appointment = booked(starts_at, "Europe/Berlin")

        released = [reminders_release(tenant=tenant, now=starts_at - timedelta(minutes=m)) for m in (120, 45, 30)]
        assert released == [0, 1, 1]
        assert reminders(appointment) == [(45, "See you at 2:00 PM!"), (30, "See you at 2:00 PM!")]
        appointment_settings_update(changes={"reminder_offsets": []})
        assert reminders_release(tenant=tenant, now=starts_at - timedelta(minutes=10)) == 0


def test_a_refused_reminder_is_recorded_once_and_not_tried_again(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    tenant = alpha_on_twilio.tenant
    starts_at = datetime(2026, 6, 2, 12, tzinfo=UTC)
    with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
        OptOut.objects.create(phone_number=CUSTOMER, source=OptOut.Source.STOP_REPLY)
        appointment = booked(starts_at)

        assert reminders_release(tenant=tenant, now=starts_at - timedelta(minutes=100)) == 1
        assert reminders_release(tenant=tenant, now=starts_at - timedelta(minutes=99)) == 0
        [reminder] = Notification.objects.filter(appointment=appointment)

    assert (reminder.status, reminder.communication_id) == ("failed", None) and "opted out" in reminder.reason
    assert queued_tasks == []


def test_many_due_reminders_go_out_in_groups_through_several_transactions(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    tenant = alpha_on_twilio.tenant
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with tenant_context(tenant):
        for n in range(120):
            booked(now + timedelta(minutes=60 + n % 7), phone_number=f"+1415555{3000 + n}")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            released = reminders_release(tenant=tenant, now=now, batch_size=50)
        communication_ids = set(Communication.objects.values_list("pk", flat=True))

    assert released == 120 and len(callbacks) == 3  # one commit, and one queueing, per batch taken
    groups = [task.kwargs["communication_ids"] for task in queued_tasks]
    assert all(task.name == "telephony.tasks.deliver_communications" for task in queued_tasks)
    assert [len(group) for group in groups] == [50, 50, 20]
    assert {i for group in groups for i in group} == communication_ids and len(communication_ids) == 120


def test_beat_releases_every_tenants_reminders_in_its_own_schema(
    alpha_on_twilio: TenantSetup,
    beta: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: Any,
) -> None:
    connect_to_sandbox(beta)
    soon = timezone.now() + timedelta(minutes=60)
    for setup in (alpha_on_twilio, beta):
        with tenant_context(setup.tenant):
            booked(soon)

    with django_capture_on_commit_callbacks(execute=True):
        assert release_due_reminders() == 2
        assert release_due_reminders() == 0

    schemas = sorted(setup.tenant.schema_name for setup in (alpha_on_twilio, beta))
    assert sorted(task.schema or "" for task in queued_tasks) == schemas
    for setup in (alpha_on_twilio, beta):
        with tenant_context(setup.tenant):
            [reminder] = Notification.objects.all()
            assert reminder.offset_minutes == 120 and f"at {setup.tenant.name} is on" in reminder.body
