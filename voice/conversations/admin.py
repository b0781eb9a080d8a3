"""Tenants' conversations with AI agents in the staff admin, read-only, for support (see tenants.schema_admin)."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from tenants.schema_admin import TenantSchemaAdmin
from voice.conversations.models import Conversation, ConversationAnalysis, ConversationEvent, Turn


class TurnInline(admin.TabularInline):
    model = Turn
    fields = readonly_fields = ("index", "role", "content", "heard", "interrupted", "latency_ms", "created_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(TenantSchemaAdmin):
    list_display = ["started_at", "direction", "agent_name", "agent_version", "customer_number", "status", "end_reason"]
    list_filter = ["direction", "status", "end_reason"]
    search_fields = ["call_sid", "customer_number", "agent_name"]
    inlines = [TurnInline]


@admin.register(ConversationAnalysis)
class ConversationAnalysisAdmin(TenantSchemaAdmin):
    list_display = ["conversation", "status", "rating", "sentiment", "transfer_requested", "attempts", "completed_at"]
    list_filter = ["status", "sentiment"]
    list_select_related = ["conversation"]


@admin.register(ConversationEvent)
class ConversationEventAdmin(TenantSchemaAdmin):
    list_display = ["created_at", "conversation", "kind"]
    list_filter = ["kind"]
    list_select_related = ["conversation"]
