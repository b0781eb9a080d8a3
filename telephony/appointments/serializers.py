from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from telephony.appointments import texts
from telephony.appointments.clock import validate_time_zone, zone
from telephony.appointments.models import Appointment, AppointmentSettings, Notification, StaffMember
from telephony.appointments.services import MAX_OFFSET_MINUTES, MAX_OFFSETS
from telephony.serializers import E164Field

TIME_ZONE_HELP = "IANA, like America/New_York; the settings' default_time_zone when left out."
STARTS_AT_HELP = (
    "ISO 8601. With an offset (2026-03-08T10:00:00-04:00) it is that instant; without one (2026-03-08T10:00) it "
    "is that wall-clock time in the appointment's time zone. Answered with the zone's offset."
)


# Named components of their own: drf-spectacular would otherwise give these choice sets made-up names, since
# other components have fields named status and channel with other choices.
@extend_schema_field(
    {"type": "string", "enum": list(Appointment.Status.values)}, component_name="AppointmentStatusEnum"
)
class AppointmentStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Appointment.Status.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": list(Notification.Channel.values)}, component_name="NotificationChannelEnum"
)
class NotificationChannelField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Notification.Channel.choices, **kwargs)


class WallClockDateTimeField(serializers.DateTimeField):
    """A date and time as given: one without an offset stays without, for the service to read in the
    appointment's time zone (DRF would read it in the server's)."""

    def enforce_timezone(self, value: datetime) -> datetime:
        return value


class StaffMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = StaffMember
        fields = ["id", "name", "phone_number", "email", "created_at"]
        read_only_fields = fields


class StaffMemberWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    phone_number = E164Field(required=False, allow_blank=True, help_text="E.164; gets an SMS of each booking.")
    email = serializers.EmailField(required=False, allow_blank=True, help_text="Gets an e-mail of each booking.")


class _AppointmentFields(serializers.Serializer):
    customer_name = serializers.CharField(max_length=200)
    phone_number = E164Field(help_text="E.164, like +15551234567 (other common writings are cleaned to it).")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    staff_id = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects.all(), source="staff", required=False, allow_null=True, default=None
    )
    starts_at = WallClockDateTimeField(help_text=STARTS_AT_HELP)
    time_zone = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        validators=[validate_time_zone],
        help_text=TIME_ZONE_HELP,
    )
    service = serializers.CharField(max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class AppointmentCreateSerializer(_AppointmentFields):
    send_confirmation = serializers.BooleanField(
        default=True, help_text="Send the confirmation SMS (and tell the staff member) once it is booked."
    )


class AppointmentUpdateSerializer(_AppointmentFields):
    """Used with partial=True: only what is given changes."""

    status = AppointmentStatusField()


class AppointmentSerializer(serializers.ModelSerializer):
    staff_id = serializers.IntegerField(allow_null=True, read_only=True)
    staff_name = serializers.SerializerMethodField()
    starts_at = serializers.SerializerMethodField(help_text="ISO 8601 with the appointment's own offset.")
    status = AppointmentStatusField(read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "customer_name",
            "phone_number",
            "email",
            "staff_id",
            "staff_name",
            "starts_at",
            "time_zone",
            "service",
            "status",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_staff_name(self, appointment: Appointment) -> str | None:
        return appointment.staff.name if appointment.staff else None

    def get_starts_at(self, appointment: Appointment) -> str:
        return appointment.starts_at.astimezone(zone(appointment.time_zone)).isoformat()


class NotificationSerializer(serializers.ModelSerializer):
    appointment_id = serializers.IntegerField(read_only=True)
    communication_id = serializers.IntegerField(allow_null=True, read_only=True)
    channel = NotificationChannelField(read_only=True)
    status = serializers.SerializerMethodField(
        help_text="queued, sent, delivered or failed; an SMS's as Twilio reports it."
    )
    reason = serializers.SerializerMethodField(help_text="Why it failed.")

    class Meta:
        model = Notification
        fields = [
            "id",
            "appointment_id",
            "kind",
            "channel",
            "offset_minutes",
            "recipient",
            "subject",
            "body",
            "reply_text",
            "status",
            "reason",
            "communication_id",
            "created_at",
        ]
        read_only_fields = fields

    def get_status(self, notification: Notification) -> str:
        return notification.current_status

    def get_reason(self, notification: Notification) -> str:
        return notification.current_reason


class AppointmentSettingsSerializer(serializers.ModelSerializer):
    reminder_offsets = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_OFFSET_MINUTES),
        max_length=MAX_OFFSETS,
        help_text="Minutes before the start (real elapsed time), e.g. [1440, 120]: a day and two hours ahead.",
    )
    confirmation_template = serializers.CharField(
        max_length=texts.MAX_TEMPLATE_LENGTH, help_text="Variables: " + ", ".join(f"{{{v}}}" for v in texts.VARIABLES)
    )
    reminder_template = serializers.CharField(max_length=texts.MAX_TEMPLATE_LENGTH)
    default_time_zone = serializers.CharField(max_length=64, validators=[validate_time_zone])

    class Meta:
        model = AppointmentSettings
        fields = [
            "reminder_offsets",
            "confirmation_template",
            "reminder_template",
            "staff_notifications",
            "default_time_zone",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]

    def _template(self, value: str) -> str:
        problems = texts.template_problems(value)
        if problems:
            raise serializers.ValidationError(problems)
        return value

    def validate_confirmation_template(self, value: str) -> str:
        return self._template(value)

    def validate_reminder_template(self, value: str) -> str:
        return self._template(value)


class AppointmentImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV with a header row: customer_name, phone_number, starts_at, service (required); email, staff "
        "(a staff member's name), time_zone, notes. At most 10 MB."
    )
    send_confirmations = serializers.BooleanField(default=True)


class ImportedRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The CSV line (the header is line 1).")

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # "errors" is a Serializer's own attribute: added here, as the field the answer has.
        fields["errors"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), help_text="Field -> messages."
        )
        return fields


class AppointmentImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    appointment_ids = serializers.ListField(child=serializers.IntegerField())
    invalid_rows = ImportedRowErrorSerializer(many=True)
