"""Appointments: booking, changing, cancelling, importing, notifications on demand, and customers' replies.

Every notification goes through notify (SMS on the platform's outbound path, so opt-outs, the daily limit and
the sender apply); a refusal is recorded on the notification as failed with its reason, never raised at
whoever booked the appointment.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from telephony import policies
from telephony.appointments import clock, selectors, tasks, texts
from telephony.appointments.models import Appointment, AppointmentSettings, Notification, StaffMember
from telephony.appointments.notify import Planned, email_ids, notifications_record
from telephony.models import Communication
from telephony.phone_numbers import normalize_e164
from telephony.services import communication_cancel
from telephony.statuses import NOT_YET_SENT
from tenants.db import current_schema, current_tenant
from tenants.models import Tenant

# Single words, case-insensitive, trimmed (a final . or ! too). YES is also Twilio's opt-in keyword: the
# inbound SMS code treats START/YES/UNSTOP as opting back in before it asks here, so Y and C are the words
# the messages ask for; YES still confirms when it does reach this.
CONFIRM_WORDS = frozenset({"C", "Y", "YES", "CONFIRM"})
RESCHEDULE_WORDS = frozenset({"R", "N", "NO", "RESCHEDULE"})
MAX_OFFSETS = 10
MAX_OFFSET_MINUTES = 60 * 24 * 30


@dataclass(frozen=True)
class AppointmentFields:
    """What a booking is made of, as given (a start without an offset is wall-clock time in its zone)."""

    customer_name: str
    phone_number: str
    starts_at: datetime | None  # None: a CSV cell that could not be read
    service: str
    time_zone: str = ""
    email: str = ""
    staff: StaffMember | None = None
    notes: str = ""


@dataclass(frozen=True)
class ImportRow:
    """One row of an import: its fields as read, and what could not be read."""

    row: int
    fields: AppointmentFields
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ImportResult:
    created: list[Appointment] = field(default_factory=list)
    # {"row": n, "errors": {field: [messages]}} for each row that was not imported, in row order
    invalid: list[dict[str, Any]] = field(default_factory=list)


def appointment_built(
    *, fields: AppointmentFields, now: datetime | None = None, default_time_zone: str | None = None
) -> Appointment:
    """A new appointment, checked (not saved): ValidationError names each field that is wrong."""
    time_zone = fields.time_zone or default_time_zone or selectors.settings_get().default_time_zone
    errors: dict[str, list[str]] = {}
    starts_at = fields.starts_at
    if starts_at is None:
        errors["starts_at"] = ["A start date and time is required."]
    else:
        try:
            starts_at = clock.wall_clock_in(starts_at, time_zone)
        except ValidationError as error:
            _merge(errors, {_field_of(error, "starts_at"): error.messages})
        else:
            if starts_at <= (now or timezone.now()):
                errors["starts_at"] = ["The appointment would start in the past."]
    appointment = Appointment(
        customer_name=fields.customer_name.strip(),
        phone_number=_e164_or_as_given(fields.phone_number),
        email=fields.email.strip(),
        staff=fields.staff,
        time_zone=time_zone,
        service=fields.service.strip(),
        notes=fields.notes,
    )
    if starts_at is not None:
        appointment.starts_at = starts_at
    try:
        # The staff member is a row read already (no query per imported row to find it again).
        appointment.full_clean(exclude=["staff", *(["starts_at"] if "starts_at" in errors else [])])
    except ValidationError as error:
        _merge(errors, error.message_dict)
    if errors:
        raise ValidationError(errors)
    return appointment


def appointment_create(*, tenant: Tenant, fields: AppointmentFields, send_confirmation: bool = True) -> Appointment:
    """Books it; the confirmation (and the staff member's notice) is recorded in the same transaction and
    queued once it commits."""
    appointment = appointment_built(fields=fields)
    with transaction.atomic():
        appointment.save()
        settings = selectors.settings_get()
        planned = _confirmations([appointment], settings, tenant) if send_confirmation else []
        planned += _staff_notices(appointment, settings, tenant, about=None)
        _record(tenant, planned)
    return appointment


def appointments_import(*, tenant: Tenant, rows: Iterable[ImportRow], send_confirmations: bool = True) -> ImportResult:
    """The valid rows become appointments (one insert) with their confirmations (one more); the others are
    reported with their errors. Staff are not told of each imported booking."""
    result = ImportResult()
    now = timezone.now()
    settings = selectors.settings_get()
    valid: list[Appointment] = []
    for row in rows:
        errors = {name: list(messages) for name, messages in row.errors.items()}
        try:
            appointment = appointment_built(fields=row.fields, now=now, default_time_zone=settings.default_time_zone)
        except ValidationError as error:
            # A cell that could not be read is named once, by what was wrong with it.
            _merge(errors, {name: messages for name, messages in error.message_dict.items() if name not in row.errors})
        if errors:
            result.invalid.append({"row": row.row, "errors": errors})
        else:
            valid.append(appointment)
    with transaction.atomic():
        result.created = Appointment.objects.bulk_create(valid, batch_size=1000)
        if send_confirmations:
            _record(tenant, _confirmations(result.created, settings, tenant))
    return result


UPDATABLE = frozenset(
    {"customer_name", "phone_number", "email", "staff", "starts_at", "time_zone", "service", "status", "notes"}
)


def appointment_update(*, appointment: Appointment, changes: dict[str, Any]) -> Appointment:
    """Changes the given fields. A new start without an offset is wall-clock time in the (new or current)
    time zone; a new time zone alone keeps the same instant. Reminders already sent for an offset are not
    sent again for a new start time (send one on demand)."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        setattr(appointment, name, value)
    if "phone_number" in changes:
        appointment.phone_number = _e164_or_as_given(changes["phone_number"])
    if "starts_at" in changes:
        try:
            appointment.starts_at = clock.wall_clock_in(changes["starts_at"], appointment.time_zone)
        except ValidationError as error:
            _merge(errors, {_field_of(error, "starts_at"): error.messages})
    try:
        appointment.full_clean(exclude=list(errors))
    except ValidationError as error:
        _merge(errors, error.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        appointment.save()
        if appointment.status == Appointment.Status.CANCELLED:
            _cancel_unsent(appointment)
    return appointment


def appointment_cancel(*, appointment: Appointment) -> Appointment:
    """Cancelled: no more reminders, and what is still waiting to be sent about it is called off."""
    with transaction.atomic():
        appointment.status = Appointment.Status.CANCELLED
        appointment.save(update_fields=["status", "updated_at"])
        _cancel_unsent(appointment)
    return appointment


def _cancel_unsent(appointment: Appointment) -> None:
    waiting = Communication.objects.filter(
        appointment_notifications__appointment=appointment, status__in=NOT_YET_SENT
    ).distinct()
    for communication in waiting:
        communication_cancel(communication=communication)


def appointment_notify(*, tenant: Tenant, appointment: Appointment, kind: str) -> Notification:
    """A confirmation or a reminder, now, on demand. Returned as recorded: queued, or failed with the reason."""
    if kind not in (Notification.Kind.CONFIRMATION, Notification.Kind.REMINDER):
        raise ValueError(f"not sent on demand: {kind}")
    if not appointment.is_open or appointment.starts_at <= timezone.now():
        state = appointment.get_status_display().lower() if not appointment.is_open else "past"
        raise policies.PolicyError(
            f"The appointment is {state}; it gets no more notifications.", code="appointment-closed", status=409
        )
    settings = selectors.settings_get()
    template = settings.confirmation_template if kind == Notification.Kind.CONFIRMATION else settings.reminder_template
    variables = texts.variables_of(appointment, tenant_name=tenant.name)
    plan = Planned(
        appointment=appointment,
        kind=kind,
        channel=Notification.Channel.SMS,
        recipient=appointment.phone_number,
        body=texts.rendered(template, variables),
    )
    with transaction.atomic():
        [notification] = _record(tenant, [plan])
    return notification


def appointment_reply_handle(*, from_number: str, body: str) -> str | None:
    """For an inbound SMS that is not an opt-out keyword, in the tenant's schema (the inbound SMS code calls this).

    If the sender has an upcoming appointment (their nearest booked, confirmed or reschedule-requested one still
    to start), C/Y/YES/CONFIRM confirm it and R/N/NO/RESCHEDULE ask to reschedule it: the reply and the answer
    are recorded on the appointment (a reply_ack notification), its staff member is told when the settings say
    so, and the answer to send back is returned. Anything else, or from anyone else: None (not about an
    appointment), and nothing is written."""
    word = body.strip().rstrip(".!").strip().upper()
    if word in CONFIRM_WORDS:
        new_status = Appointment.Status.CONFIRMED
    elif word in RESCHEDULE_WORDS:
        new_status = Appointment.Status.RESCHEDULE_REQUESTED
    else:
        return None
    try:
        number = normalize_e164(from_number)
    except ValidationError:
        return None
    tenant = current_tenant()
    with transaction.atomic():
        appointment = selectors.appointment_for_reply(phone_number=number, now=timezone.now())
        if appointment is None:
            return None
        appointment.status = new_status
        appointment.save(update_fields=["status", "updated_at"])
        variables = texts.variables_of(appointment, tenant_name=tenant.name)
        answer = texts.reply_ack_text(variables, confirmed=new_status == Appointment.Status.CONFIRMED)
        # The answer goes back with the inbound code's reply, not as a Communication of ours: recorded as sent.
        Notification.objects.create(
            appointment=appointment,
            kind=Notification.Kind.REPLY_ACK,
            channel=Notification.Channel.SMS,
            recipient=number,
            body=answer,
            reply_text=body.strip(),
            status=Notification.Status.SENT,
        )
        settings = selectors.settings_get()
        _record(tenant, _staff_notices(appointment, settings, tenant, about=body.strip()))
    return answer


def appointment_settings_update(*, changes: dict[str, Any]) -> AppointmentSettings:
    """Changes the given settings; ValidationError names each that is wrong."""
    errors: dict[str, list[str]] = {}
    if "reminder_offsets" in changes:
        offsets = changes["reminder_offsets"]
        problems = _offset_problems(offsets)
        if problems:
            errors["reminder_offsets"] = problems
        else:
            changes = {**changes, "reminder_offsets": sorted(set(offsets), reverse=True)}
    for name in ("confirmation_template", "reminder_template"):
        if name in changes and (problems := texts.template_problems(changes[name])):
            errors[name] = problems
    if "default_time_zone" in changes:
        try:
            clock.zone(changes["default_time_zone"])
        except ValidationError as error:
            errors["default_time_zone"] = error.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        settings, _ = AppointmentSettings.objects.select_for_update().get_or_create(pk=1)
        for name, value in changes.items():
            setattr(settings, name, value)
        settings.save()
    return settings


def _offset_problems(offsets: Any) -> list[str]:
    if not isinstance(offsets, list) or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets):
        return ["A list of whole minutes before the start, like [1440, 120]."]
    if len(offsets) > MAX_OFFSETS:
        return [f"At most {MAX_OFFSETS} reminders."]
    if any(o < 1 or o > MAX_OFFSET_MINUTES for o in offsets):
        return [f"Each offset is from 1 to {MAX_OFFSET_MINUTES} minutes (30 days)."]
    return []


def staff_member_create(*, name: str, phone_number: str = "", email: str = "") -> StaffMember:
    staff = StaffMember(name=name.strip(), phone_number=_e164_or_as_given(phone_number), email=email.strip())
    _staff_checked(staff)
    staff.save()
    return staff


def staff_member_update(*, staff: StaffMember, changes: dict[str, Any]) -> StaffMember:
    for name in ("name", "phone_number", "email"):
        if name in changes:
            value = changes[name].strip()
            setattr(staff, name, _e164_or_as_given(value) if name == "phone_number" else value)
    _staff_checked(staff)
    staff.save()
    return staff


def _staff_checked(staff: StaffMember) -> None:
    # Named on its field, where full_clean would report the unique constraint for the whole form.
    if StaffMember.objects.filter(name__iexact=staff.name).exclude(pk=staff.pk).exists():
        raise ValidationError({"name": [f"A staff member is named '{staff.name}' already."]})
    staff.full_clean()


def staff_member_remove(*, staff: StaffMember) -> None:
    """Their appointments stay, with no one named."""
    staff.delete()


def _field_of(error: ValidationError, default: str) -> str:
    return "time_zone" if error.code == "invalid_time_zone" else default


def _merge(errors: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    """Adds messages by field, each once (a zone refused when reading the start is refused again by full_clean)."""
    for name, messages in more.items():
        known = errors.setdefault(name, [])
        for message in messages:
            if message not in known:
                known.append(message)


def _e164_or_as_given(number: str) -> str:
    """In E.164 when it is a number; left as given otherwise, for full_clean to name it."""
    number = number.strip()
    try:
        return normalize_e164(number) if number else number
    except ValidationError:
        return number


def _confirmations(appointments: Sequence[Appointment], settings: AppointmentSettings, tenant: Tenant) -> list[Planned]:
    return [
        Planned(
            appointment=appointment,
            kind=Notification.Kind.CONFIRMATION,
            channel=Notification.Channel.SMS,
            recipient=appointment.phone_number,
            body=texts.rendered(
                settings.confirmation_template, texts.variables_of(appointment, tenant_name=tenant.name)
            ),
        )
        for appointment in appointments
    ]


def _staff_notices(
    appointment: Appointment, settings: AppointmentSettings, tenant: Tenant, *, about: str | None
) -> list[Planned]:
    """To the staff member, by SMS and/or e-mail (what they have): of a new booking, or (`about`) of a reply."""
    staff = appointment.staff
    if staff is None or not settings.staff_notifications:
        return []
    variables = texts.variables_of(appointment, tenant_name=tenant.name)
    if about is None:
        text = texts.staff_booking_text(appointment, variables)
        subject = f"New appointment: {appointment.customer_name}, {variables['date']} at {variables['time']}"
    else:
        text = texts.staff_reply_text(
            appointment, variables, reply=about, status_label=appointment.get_status_display()
        )
        subject = f"{appointment.customer_name}: {appointment.get_status_display().lower()}"
    channels = [(Notification.Channel.SMS, staff.phone_number), (Notification.Channel.EMAIL, staff.email)]
    return [
        Planned(
            appointment=appointment,
            kind=Notification.Kind.STAFF,
            channel=channel,
            recipient=recipient,
            body=text,
            reply_text=about or "",
            subject=subject if channel == Notification.Channel.EMAIL else "",
        )
        for channel, recipient in channels
        if recipient
    ]


def _record(tenant: Tenant, planned: Sequence[Planned]) -> list[Notification]:
    """Inside a transaction: the notifications recorded, their e-mails queued once it commits."""
    notifications = notifications_record(tenant=tenant, planned=planned)
    emails = email_ids(notifications)
    if emails:
        schema = current_schema()

        def queue() -> None:
            with schema_context(schema):
                tasks.queue_emails(notification_ids=emails)

        transaction.on_commit(queue)
    return notifications
