"""Appointment pages of the portal: the upcoming list with each one's notifications as badges, booking, CSV
import, an appointment's page with its notifications (operators send a confirmation or reminder there, or
cancel it), and the settings with the staff members."""

from dataclasses import dataclass

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from telephony.appointments import clock, imports, selectors, services, texts
from telephony.appointments.filters import AppointmentFilter
from telephony.appointments.forms import AppointmentForm, ImportForm, SettingsForm, StaffForm
from telephony.appointments.models import Appointment, Notification, StaffMember
from telephony.policies import PolicyError
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.views import form_errors_text, portal_access, portal_redirect, portal_user

PAGE_SIZE = 50


@dataclass(frozen=True)
class Badge:
    label: str
    status: str  # queued, sent, delivered, failed: also the stage-* colour class
    reason: str


def _badges(appointment: Appointment) -> list[Badge]:
    """The latest confirmation and each reminder, from the prefetched notifications (newest first)."""
    latest: dict[tuple[str, int | None], Notification] = {}
    for notification in appointment.notifications.all():
        if notification.kind in (Notification.Kind.CONFIRMATION, Notification.Kind.REMINDER):
            latest.setdefault((notification.kind, notification.offset_minutes), notification)
    ordered = sorted(latest.items(), key=lambda item: (item[0][0] != "confirmation", -(item[0][1] or 0)))
    return [Badge(_label(kind, offset), n.current_status, n.current_reason) for (kind, offset), n in ordered]


def _label(kind: str, offset: int | None) -> str:
    if kind == Notification.Kind.CONFIRMATION:
        return "Confirmation"
    return f"Reminder {texts.offset_text(offset)}" if offset else "Reminder (on demand)"


def _can_write(request: HttpRequest) -> bool:
    return portal_user(request).has_role(Role.OPERATOR)


@portal_access()
def appointment_list(request: HttpRequest) -> HttpResponse:
    show_past = request.GET.get("show") == "all"
    appointments = selectors.appointment_list_with_notifications()
    if not show_past:
        appointments = appointments.filter(starts_at__gte=timezone.now())
    listed = AppointmentFilter(request.GET, queryset=appointments, request=request)
    page = Paginator(listed.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "rows": [(appointment, _badges(appointment)) for appointment in page],
        "filter_form": listed.form,
        "show_past": show_past,
        "can_write": _can_write(request),
        "query": query.urlencode(),
    }
    return render(request, "appointments/appointment_list.html", context)


def _add_errors(form: Form, error: ValidationError) -> None:
    for name, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)


@portal_access(Role.OPERATOR)
def appointment_new(request: HttpRequest) -> HttpResponse:
    form = AppointmentForm(
        request.POST or None,
        initial={"time_zone": selectors.settings_get().default_time_zone, "send_confirmation": True},
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        send_confirmation = data.pop("send_confirmation")
        try:
            appointment = services.appointment_create(
                tenant=current_tenant(), fields=services.AppointmentFields(**data), send_confirmation=send_confirmation
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            flash.success(request, f"Booked {appointment.customer_name} for {appointment.service}.")
            return portal_redirect(request, "portal-appointment-detail", appointment_id=appointment.pk)
    return render(request, "appointments/appointment_new.html", {"form": form}, status=400 if form.errors else 200)


@portal_access(Role.OPERATOR)
def appointment_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None, initial={"send_confirmations": True})
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.appointments_import(
                tenant=current_tenant(),
                rows=imports.rows_from_upload(form.cleaned_data["file"]),
                send_confirmations=form.cleaned_data["send_confirmations"],
            )
        except PolicyError as error:
            form.add_error("file", error.message)
        else:
            created, invalid = len(result.created), len(result.invalid)
            flash.success(
                request,
                f"{created} appointment{'' if created == 1 else 's'} imported"
                + (f"; {invalid} row{'' if invalid == 1 else 's'} not (listed below)." if invalid else "."),
            )
    status = 400 if form.errors else 200
    return render(request, "appointments/appointment_import.html", {"form": form, "result": result}, status=status)


@portal_access()
def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_object_or_404(selectors.appointment_list(), pk=appointment_id)
    context = {
        "appointment": appointment,
        "local_start": f"{clock.date_text(appointment.starts_at, appointment.time_zone)} at "
        f"{clock.time_text(appointment.starts_at, appointment.time_zone)}",
        "notifications": selectors.notification_list(appointment=appointment),
        "can_write": _can_write(request),
        "can_send": _can_write(request) and appointment.is_open and appointment.starts_at > timezone.now(),
    }
    return render(request, "appointments/appointment_detail.html", context)


@require_POST
@portal_access(Role.OPERATOR)
def appointment_send(request: HttpRequest, appointment_id: int, kind: str) -> HttpResponse:
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    try:
        notification = services.appointment_notify(tenant=current_tenant(), appointment=appointment, kind=kind)
    except PolicyError as error:
        flash.error(request, error.message)
    else:
        if notification.current_status == Notification.Status.FAILED:
            flash.error(request, f"Not sent: {notification.current_reason}")
        else:
            flash.success(request, f"{notification.get_kind_display()} queued to {notification.recipient}.")
    return portal_redirect(request, "portal-appointment-detail", appointment_id=appointment_id)


@require_POST
@portal_access(Role.OPERATOR)
def appointment_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    services.appointment_cancel(appointment=appointment)
    flash.success(request, "Cancelled: no more reminders go out for it.")
    return portal_redirect(request, "portal-appointment-detail", appointment_id=appointment_id)


@portal_access()
def appointment_settings(request: HttpRequest) -> HttpResponse:
    """Everyone reads the settings; operators change them (a viewer's POST is refused)."""
    if request.method == "POST" and not _can_write(request):
        return render(request, "tenants/forbidden.html", {"role": Role.OPERATOR}, status=403)
    current = selectors.settings_get()
    initial = {
        "reminder_offsets": ", ".join(str(offset) for offset in current.reminder_offsets),
        "confirmation_template": current.confirmation_template,
        "reminder_template": current.reminder_template,
        "staff_notifications": current.staff_notifications,
        "default_time_zone": current.default_time_zone,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_settings_update(changes=dict(form.cleaned_data))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            flash.success(request, "Settings saved.")
            return portal_redirect(request, "portal-appointment-settings")
    context = {
        "form": form,
        "staff_form": StaffForm(),
        "staff": selectors.staff_member_list(),
        "can_write": _can_write(request),
    }
    return render(request, "appointments/settings.html", context, status=400 if form.errors else 200)


@require_POST
@portal_access(Role.OPERATOR)
def staff_add(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST)
    if form.is_valid():
        try:
            staff = services.staff_member_create(**form.cleaned_data)
        except ValidationError as error:
            flash.error(request, "Not added: " + "; ".join(error.messages))
        else:
            flash.success(request, f"{staff.name} added.")
    else:
        flash.error(request, "Not added: " + form_errors_text(form))
    return portal_redirect(request, "portal-appointment-settings")


@require_POST
@portal_access(Role.OPERATOR)
def staff_remove(request: HttpRequest, staff_id: int) -> HttpResponse:
    staff = get_object_or_404(StaffMember, pk=staff_id)
    services.staff_member_remove(staff=staff)
    flash.success(request, f"{staff.name} removed; their appointments stay, with no one named.")
    return portal_redirect(request, "portal-appointment-settings")
