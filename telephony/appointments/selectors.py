from datetime import datetime

from django.db.models import Prefetch, QuerySet

from telephony.appointments.models import OPEN_STATUSES, Appointment, AppointmentSettings, Notification, StaffMember


def settings_get() -> AppointmentSettings:
    """The tenant's settings; the defaults until someone has saved them (reading writes nothing)."""
    return AppointmentSettings.objects.filter(pk=1).first() or AppointmentSettings(pk=1)


def appointment_list() -> QuerySet[Appointment]:
    """Soonest first, each with its staff member; narrowed by filters.AppointmentFilter."""
    return Appointment.objects.select_related("staff").order_by("starts_at", "id")


def appointment_list_with_notifications() -> QuerySet[Appointment]:
    """As appointment_list, with every notification and its SMS: a page of them is three queries."""
    notifications = Notification.objects.select_related("communication").order_by("-created_at", "-id")
    return appointment_list().prefetch_related(Prefetch("notifications", queryset=notifications))


def appointment_for_reply(*, phone_number: str, now: datetime) -> Appointment | None:
    """The customer's nearest open appointment still to start, locked: what a reply from them is about.
    Call inside a transaction."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("staff")
        .filter(phone_number=phone_number, status__in=OPEN_STATUSES, starts_at__gt=now)
        .order_by("starts_at", "id")
        .first()
    )


def notification_list(*, appointment: Appointment) -> QuerySet[Notification]:
    """Newest first, each with its SMS (for its status)."""
    return appointment.notifications.select_related("communication").order_by("-created_at", "-id")


def staff_member_list() -> QuerySet[StaffMember]:
    return StaffMember.objects.order_by("name", "id")
