"""Filters of the appointment list: one definition for the API's query parameters and the portal's form."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from telephony.appointments.models import Appointment, StaffMember
from telephony.filters import MOMENT_INPUT


def _staff(request: Any) -> QuerySet[StaffMember]:
    return StaffMember.objects.order_by("name", "id")


class AppointmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Appointment.Status.choices)
    staff = django_filters.ModelChoiceFilter(queryset=_staff, label="Staff member", help_text="A staff member's id.")
    starts_after = django_filters.IsoDateTimeFilter(
        field_name="starts_at",
        lookup_expr="gte",
        label="Starting from (UTC)",
        help_text="ISO 8601 (a date alone is its midnight UTC); from this moment on.",
        widget=MOMENT_INPUT,
    )
    starts_before = django_filters.IsoDateTimeFilter(
        field_name="starts_at",
        lookup_expr="lt",
        label="Starting before (UTC)",
        help_text="ISO 8601; before this moment.",
        widget=MOMENT_INPUT,
    )

    class Meta:
        model = Appointment
        fields: list[str] = []
