"""Filters of the communication log: one definition for the API's query parameters and the portal's form."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from telephony.forms import E164FormField
from telephony.models import Communication
from telephony.statuses import Status

# The browser's date-and-time picker; what it sends (2026-11-21T09:30) is ISO 8601, read in UTC as every time here.
MOMENT_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class E164Filter(django_filters.CharFilter):
    field_class = E164FormField


class CommunicationFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(field_name="channel", choices=Communication.Channel.choices, label="Type")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    direction = django_filters.ChoiceFilter(choices=Communication.Direction.choices)
    number = E164Filter(method="filter_number", max_length=32, label="Number", help_text="Matches to or from (E.164).")
    date_from = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        label="From (UTC)",
        help_text="ISO 8601; from this moment on.",
        widget=MOMENT_INPUT,
    )
    date_to = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        label="Until (UTC)",
        help_text="ISO 8601; before this moment.",
        widget=MOMENT_INPUT,
    )

    class Meta:
        model = Communication
        fields: list[str] = []

    def filter_number(self, queryset: QuerySet[Communication], name: str, value: str) -> QuerySet[Communication]:
        return queryset.filter(Q(to_number=value) | Q(from_number=value))


class ChannelCommunicationFilter(CommunicationFilter):
    """For /messages/ and /calls/, whose path already says the type."""

    type = None  # type: ignore[assignment]  # None removes the inherited filter
