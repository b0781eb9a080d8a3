from django.contrib import admin
from django.http import HttpRequest

from telephony.registry.models import PhoneNumberRoute, TwilioAccount


@admin.register(TwilioAccount)
class TwilioAccountAdmin(admin.ModelAdmin):
    """Each tenant's Twilio connection, for support. Changed only through the services (the tenant's API or
    onboarding), which check credentials with Twilio; the auth token is never shown."""

    list_display = ["tenant", "kind", "status", "twilio_status", "account_sid", "status_detail", "updated_at"]
    list_filter = ["kind", "status", "twilio_status"]
    search_fields = ["tenant__slug", "tenant__name", "account_sid"]
    fields = readonly_fields = (
        "tenant",
        "kind",
        "status",
        "twilio_status",
        "account_sid",
        "status_detail",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TwilioAccount | None = None) -> bool:
        return False


@admin.register(PhoneNumberRoute)
class PhoneNumberRouteAdmin(admin.ModelAdmin):
    """Which tenant each number's calls and messages go to (set when Twilio confirms the tenant owns it)."""

    list_display = ["phone_number", "tenant", "created_at"]
    search_fields = ["phone_number", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    fields = readonly_fields = ("phone_number", "tenant", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
