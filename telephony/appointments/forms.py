from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from telephony.appointments import texts
from telephony.appointments.clock import validate_time_zone
from telephony.appointments.models import StaffMember
from telephony.filters import MOMENT_INPUT
from telephony.forms import E164FormField
from telephony.uploads import MAX_CSV_BYTES

ZONE_INPUT = forms.TextInput(attrs={"placeholder": "America/New_York"})


class WallClockFormField(forms.DateTimeField):
    """The date and time as typed, without a zone: the service reads it in the appointment's time zone."""

    widget = MOMENT_INPUT

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        # Django read it in the server's zone (UTC) without moving the digits; taken back as typed.
        return moment.replace(tzinfo=None) if moment else None


class AppointmentForm(forms.Form):
    customer_name = forms.CharField(max_length=200)
    phone_number = E164FormField(max_length=32, widget=forms.TextInput(attrs={"placeholder": "+15551234567"}))
    email = forms.EmailField(required=False)
    # Evaluated each time the form is shown, in the tenant's schema.
    staff = forms.ModelChoiceField(queryset=StaffMember.objects.order_by("name"), required=False, label="Staff member")
    starts_at = WallClockFormField(label="Starts at", help_text="In the appointment's time zone.")
    time_zone = forms.CharField(max_length=64, validators=[validate_time_zone], widget=ZONE_INPUT)
    service = forms.CharField(max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    send_confirmation = forms.BooleanField(required=False, initial=True, label="Send the confirmation SMS")


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Appointments (CSV)",
        help_text="Columns: customer_name, phone_number, starts_at, service; optional email, staff (a name), "
        f"time_zone, notes. At most {MAX_CSV_BYTES // 1_048_576} MB.",
    )
    send_confirmations = forms.BooleanField(required=False, initial=True, label="Send each a confirmation SMS")


class OffsetsField(forms.CharField):
    """Minutes before the start, separated by commas: '1440, 120'."""

    def clean(self, value: Any) -> list[int]:
        text = super().clean(value) or ""
        try:
            return [int(part) for part in text.replace(" ", "").split(",") if part]
        except ValueError:
            raise ValidationError("Whole minutes separated by commas, like 1440, 120.", code="invalid") from None


class SettingsForm(forms.Form):
    reminder_offsets = OffsetsField(
        required=False,
        label="Reminders (minutes before the start)",
        help_text="Real elapsed minutes, e.g. 1440, 120: a day and two hours ahead. Empty: no reminders.",
    )
    confirmation_template = forms.CharField(
        max_length=texts.MAX_TEMPLATE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Variables: " + ", ".join(f"{{{v}}}" for v in texts.VARIABLES),
    )
    reminder_template = forms.CharField(max_length=texts.MAX_TEMPLATE_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    staff_notifications = forms.BooleanField(
        required=False, label="Tell the staff member of new bookings and replies (SMS and/or e-mail)"
    )
    default_time_zone = forms.CharField(max_length=64, validators=[validate_time_zone], widget=ZONE_INPUT)


class StaffForm(forms.Form):
    name = forms.CharField(max_length=200)
    phone_number = E164FormField(
        max_length=32, required=False, widget=forms.TextInput(attrs={"placeholder": "+15551234567"})
    )
    email = forms.EmailField(required=False)
