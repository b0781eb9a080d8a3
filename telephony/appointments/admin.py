"""Appointments in the staff admin (public host), read-only, for support (see tenants.schema_admin)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from telephony.appointments.models import Appointment, AppointmentSettings, Notification, StaffMember
from tenants.schema_admin import TenantSchemaAdmin


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    fields = readonly_fields = ("created_at", "kind", "channel", "offset_minutes", "recipient", "shown_status")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Status")
    def shown_status(self, notification: Notification) -> str:
        return notification.current_status


@admin.register(Appointment)
class AppointmentAdmin(TenantSchemaAdmin):
    list_display = ["customer_name", "phone_number", "starts_at", "time_zone", "service", "staff", "status"]
    list_filter = ["status"]
    search_fields = ["customer_name", "phone_number", "service"]
    list_select_related = ["staff"]
    inlines = [NotificationInline]


@admin.register(Notification)
class NotificationAdmin(TenantSchemaAdmin):
    list_display = ["created_at", "appointment", "kind", "channel", "offset_minutes", "recipient", "shown_status"]
    list_filter = ["kind", "channel"]
    search_fields = ["recipient", "appointment__customer_name"]
    list_select_related = ["appointment", "communication"]

    @admin.display(description="Status")
    def shown_status(self, notification: Notification) -> str:
        """An SMS's as Twilio reports it (see Notification.current_status), with why it failed."""
        reason = notification.current_reason
        return notification.current_status + (f": {reason}" if reason else "")


@admin.register(StaffMember)
class StaffMemberAdmin(TenantSchemaAdmin):
    list_display = ["name", "phone_number", "email", "created_at"]
    search_fields = ["name"]


@admin.register(AppointmentSettings)
class AppointmentSettingsAdmin(TenantSchemaAdmin):
    list_display = ["__str__", "reminder_offsets", "staff_notifications", "default_time_zone", "updated_at"]
