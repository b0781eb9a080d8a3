from django.db import models
from django.db.models.functions import Lower

from telephony.appointments.clock import validate_time_zone
from telephony.models import Communication
from telephony.phone_numbers import normalize_e164
from telephony.statuses import STAGE_OF
from telephony.statuses import Status as DeliveryStatus

DEFAULT_REMINDER_OFFSETS = [1440, 120]  # minutes before the start: a day ahead, and two hours ahead
DEFAULT_CONFIRMATION_TEMPLATE = (
    "Hi {customer_name}, your {service} appointment with {staff_name} at {tenant_name} is booked for {date} at "
    "{time}. Reply C to confirm or R to reschedule."
)
DEFAULT_REMINDER_TEMPLATE = (
    "Reminder: your {service} appointment with {staff_name} at {tenant_name} is on {date} at {time}. "
    "Reply C to confirm or R to reschedule."
)


def validate_e164(number: str) -> None:
    normalize_e164(number)


def default_reminder_offsets() -> list[int]:
    return list(DEFAULT_REMINDER_OFFSETS)


class StaffMember(models.Model):
    """Who the appointment is with; told of new bookings and of customers' replies when the settings say so."""

    name = models.CharField(max_length=200)
    phone_number = models.CharField(max_length=32, blank=True, validators=[validate_e164], help_text="E.164.")
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        # A CSV import names staff by name: one name, one person.
        constraints = [models.UniqueConstraint(Lower("name"), name="appointments_staff_name_unique")]

    def __str__(self) -> str:
        return self.name


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        RESCHEDULE_REQUESTED = "reschedule_requested", "Reschedule requested"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"

    customer_name = models.CharField(max_length=200)
    phone_number = models.CharField(max_length=32, validators=[validate_e164], help_text="E.164.")
    email = models.EmailField(blank=True)
    staff = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments"
    )
    starts_at = models.DateTimeField(help_text="The instant it starts (stored in UTC).")
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="IANA; how its time is read and written."
    )
    service = models.CharField(max_length=200)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.BOOKED)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["status", "starts_at"]),  # reminders due; the upcoming list
            models.Index(fields=["phone_number", "starts_at"]),  # a customer's reply finds their appointment
        ]

    def __str__(self) -> str:
        return f"{self.customer_name} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        """Still to happen as far as anyone knows: notifications go to open appointments only."""
        return self.status in OPEN_STATUSES


OPEN_STATUSES = frozenset(
    {Appointment.Status.BOOKED, Appointment.Status.CONFIRMED, Appointment.Status.RESCHEDULE_REQUESTED}
)


class AppointmentSettings(models.Model):
    """The tenant's one set of appointment settings (row 1, made on first read)."""

    reminder_offsets = models.JSONField(
        default=default_reminder_offsets, help_text="Minutes before the start each reminder goes out."
    )
    confirmation_template = models.TextField(default=DEFAULT_CONFIRMATION_TEMPLATE)
    reminder_template = models.TextField(default=DEFAULT_REMINDER_TEMPLATE)
    staff_notifications = models.BooleanField(
        default=True, help_text="Tell the staff member (SMS and/or e-mail) of new bookings and customers' replies."
    )
    default_time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="For appointments given without one."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "appointment settings"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="appointments_settings_singleton")]

    def __str__(self) -> str:
        return "Appointment settings"


class Notification(models.Model):
    """One message about an appointment: to the customer (confirmation, reminder, the answer to their reply)
    or to its staff member. An SMS is a Communication, whose status Twilio's callbacks keep up to date."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation"
        REMINDER = "reminder", "Reminder"
        STAFF = "staff", "Staff notification"
        REPLY_ACK = "reply_ack", "Answer to a reply"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "E-mail"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    offset_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="A scheduled reminder's offset; empty for one sent on demand."
    )
    recipient = models.CharField(max_length=254, help_text="A phone number (E.164) or an e-mail address.")
    subject = models.CharField(max_length=200, blank=True, help_text="An e-mail's subject.")
    body = models.TextField(blank=True)
    reply_text = models.TextField(blank=True, help_text="The customer's reply it answers or passes on.")
    communication = models.ForeignKey(
        Communication, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointment_notifications"
    )
    # Ours: refused before sending, or an e-mail's outcome. An SMS's own progress is its Communication's.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    reason = models.TextField(blank=True, help_text="Why it failed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A scheduled reminder is sent once: releasing it is claiming this row (see reminders).
            models.UniqueConstraint(
                fields=["appointment", "kind", "offset_minutes", "channel"],
                condition=models.Q(kind="reminder", offset_minutes__isnull=False),
                name="appointments_one_reminder_per_offset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} {self.recipient}"

    @property
    def current_status(self) -> str:
        """queued, sent, delivered or failed: for an SMS handed to delivery, read from its Communication."""
        if self.communication is None:
            return self.status
        stage = STAGE_OF.get(self.communication.status, "queued")
        return _STATUS_OF_STAGE[stage]

    @property
    def current_reason(self) -> str:
        communication = self.communication
        if communication is None or self.current_status != self.Status.FAILED:
            return self.reason
        if communication.error_message or communication.error_code:
            return " ".join(filter(None, [communication.error_code, communication.error_message]))
        if communication.status == DeliveryStatus.CANCELED:
            return "Canceled before it was sent."
        return f"Twilio reported it {communication.get_status_display().lower()}."


_STATUS_OF_STAGE = {
    "queued": Notification.Status.QUEUED,
    "sent": Notification.Status.SENT,
    "delivered": Notification.Status.DELIVERED,
    "failed": Notification.Status.FAILED,
    "canceled": Notification.Status.FAILED,
}
