"""Reminders, released by beat in bulk, each exactly once.

When: an offset is real elapsed minutes before the start instant, not a wall-clock time. The 1440-minute
reminder of a 10:00 appointment on the day New York's clocks go forward (2026-03-08) goes out at 09:00 local
time the day before: 24 hours before, as it says. So the arithmetic is on UTC instants and no time zone
can make a reminder early, late, doubled or skipped; {date} and {time} in its text are still written in
the appointment's own time zone.

Which: for an open appointment still to start, the reminder due is the one with the smallest offset whose
moment has come (start - offset <= now); as time passes each offset's reminder becomes due in turn. Not
sent: one whose moment had already passed when the appointment was booked (the confirmation has just gone
out), and one overtaken by a later one before it could go (after beat was stopped for a day, a customer
gets the nearest reminder, not all of them at once).

Exactly once: a release takes the appointments it will remind in one transaction, locking them
(SELECT ... FOR UPDATE SKIP LOCKED), so a second beat running at the same time takes others or none. The
reminders are then recorded as notifications (at most one per appointment, offset and channel: a unique
constraint, the last word if two ever met), and their Communications created in one insert and queued with
the group delivery path once the transaction commits. A release that dies before it commits (its worker
killed, its connection lost) leaves nothing claimed, nothing created and nothing queued: the next beat
takes the same reminders.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q

from telephony.appointments import texts
from telephony.appointments.models import OPEN_STATUSES, Appointment, AppointmentSettings, Notification
from telephony.appointments.notify import Planned, notifications_record
from telephony.appointments.selectors import settings_get
from tenants.models import Tenant

# Appointments one transaction takes: a bounded transaction, and queue_group's groups fill up.
RELEASE_BATCH = 500


def current_offset(*, starts_at: datetime, offsets: Sequence[int], now: datetime) -> int | None:
    """The reminder due at `now`: the smallest offset whose moment (start - offset) has come."""
    for offset in sorted(offsets):
        if starts_at - timedelta(minutes=offset) <= now:
            return offset
    return None


def _due(offsets: Sequence[int], now: datetime) -> Q:
    """Appointments whose current reminder is still to go, one window per offset (the same rule as
    current_offset, in SQL): the window ends at that offset and starts at the next smaller one."""
    due = Q(pk__in=[])
    window_start = now
    for offset in sorted(offsets):
        window_end = now + timedelta(minutes=offset)
        sent = Notification.objects.filter(
            appointment=OuterRef("pk"),
            kind=Notification.Kind.REMINDER,
            channel=Notification.Channel.SMS,
            offset_minutes=offset,
        )
        due |= Q(
            Q(starts_at__gt=window_start, starts_at__lte=window_end),
            # Booked before this reminder's moment: otherwise the confirmation stands in for it.
            Q(created_at__lte=F("starts_at") - timedelta(minutes=offset)),
            ~Exists(sent),
        )
        window_start = window_end
    return due


def reminders_release(*, tenant: Tenant, now: datetime, batch_size: int = RELEASE_BATCH) -> int:
    """Releases the tenant's reminders due at `now` (in its schema); returns how many were recorded."""
    now = now.astimezone(UTC)  # offsets are added to it: elapsed time, not a zone's wall clock
    settings = settings_get()
    offsets = sorted(set(settings.reminder_offsets))
    if not offsets:
        return 0
    released = 0
    while True:
        recorded, taken = _release_batch(tenant=tenant, settings=settings, offsets=offsets, now=now, limit=batch_size)
        released += recorded
        # Those taken now have their reminder, so the next query goes past them.
        if taken < batch_size:
            return released


def _release_batch(
    *, tenant: Tenant, settings: AppointmentSettings, offsets: list[int], now: datetime, limit: int
) -> tuple[int, int]:
    with transaction.atomic():
        taken = list(
            Appointment.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("staff")
            .filter(_due(offsets, now), status__in=OPEN_STATUSES)
            .order_by("starts_at", "id")[:limit]
        )
        if not taken:
            return 0, 0
        # Read again now that the rows are ours: a release that took one of them and committed while this
        # query ran is seen by a new statement (its reminder was invisible to this query's snapshot).
        sent = set(
            Notification.objects.filter(
                appointment__in=taken,
                kind=Notification.Kind.REMINDER,
                channel=Notification.Channel.SMS,
                offset_minutes__in=offsets,
            ).values_list("appointment_id", "offset_minutes")
        )
        planned = []
        for appointment in taken:
            offset = current_offset(starts_at=appointment.starts_at, offsets=offsets, now=now)
            if offset is None or (appointment.pk, offset) in sent:
                continue
            variables = texts.variables_of(appointment, tenant_name=tenant.name)
            planned.append(
                Planned(
                    appointment=appointment,
                    kind=Notification.Kind.REMINDER,
                    channel=Notification.Channel.SMS,
                    recipient=appointment.phone_number,
                    body=texts.rendered(settings.reminder_template, variables),
                    offset_minutes=offset,
                )
            )
        notifications_record(tenant=tenant, planned=planned)
    return len(planned), len(taken)
