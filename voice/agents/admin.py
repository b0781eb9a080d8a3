"""Tenants' AI agents, their versions and which provider keys they hold, in the staff admin, read-only (see
tenants.schema_admin). Keys themselves never show: only their last 4 characters."""

from django.contrib import admin

from tenants.schema_admin import TenantSchemaAdmin
from voice.agents.models import Agent, AgentVersion, ProviderCredential


@admin.register(Agent)
class AgentAdmin(TenantSchemaAdmin):
    list_display = ["name", "kind", "is_default", "llm_provider", "llm_model", "tts_provider", "version", "updated_at"]
    list_filter = ["kind", "llm_provider", "tts_provider", "is_default"]
    search_fields = ["name", "description"]


@admin.register(AgentVersion)
class AgentVersionAdmin(TenantSchemaAdmin):
    list_display = ["agent", "number", "created_at", "created_by"]
    list_select_related = ["agent"]
    search_fields = ["agent__name", "created_by"]


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(TenantSchemaAdmin):
    list_display = ["provider", "last4", "azure_endpoint", "azure_deployment", "updated_at"]
    exclude = ["api_key"]
