"""What tenants' numbers do with calls and SMS, in the staff admin, read-only (see tenants.schema_admin)."""

from django.contrib import admin

from telephony.inbound.models import CallFlow, InboundSettings, NumberSettings, Recording
from tenants.schema_admin import TenantSchemaAdmin


@admin.register(NumberSettings)
class NumberSettingsAdmin(TenantSchemaAdmin):
    list_display = ["phone_number", "call_flow", "auto_reply", "forward_url", "forward_email", "updated_at"]
    search_fields = ["phone_number"]
    list_select_related = ["call_flow"]


@admin.register(CallFlow)
class CallFlowAdmin(TenantSchemaAdmin):
    list_display = ["name", "kind", "forward_to", "open_flow", "next_flow", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "forward_to"]
    list_select_related = ["open_flow", "next_flow"]


@admin.register(Recording)
class RecordingAdmin(TenantSchemaAdmin):
    list_display = ["created_at", "recording_sid", "call_sid", "duration_seconds", "status", "status_detail"]
    list_filter = ["status"]
    search_fields = ["recording_sid", "call_sid"]
    exclude = ["file"]


@admin.register(InboundSettings)
class InboundSettingsAdmin(TenantSchemaAdmin):
    list_display = ["__str__", "time_zone", "recording_retention_days", "updated_at"]
    exclude = ["forward_signing_secret"]
