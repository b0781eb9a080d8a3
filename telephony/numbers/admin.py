"""Tenants' numbers in the staff admin, read-only: tenant by tenant with their whole history (see
tenants.schema_admin), and the newest of every tenant's on one page (/admin/numbers/phonenumber/every-tenant/).
One action changes something: closing the chosen tenant (its numbers released, its Twilio subaccount closed)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from telephony.numbers.models import PhoneNumber
from telephony.numbers.selectors import numbers_of_every_tenant
from telephony.numbers.services import tenant_close
from tenants.db import current_tenant
from tenants.schema_admin import TenantSchemaAdmin

EVERY_TENANT_LIMIT = 500


@admin.register(PhoneNumber)
class PhoneNumberAdmin(TenantSchemaAdmin):
    list_display = [
        "phone_number",
        "friendly_name",
        "status",
        "country",
        "number_type",
        "monthly_cost",
        "reason",
        "status_detail",
        "provisioned_at",
        "released_at",
    ]
    list_filter = ["status", "number_type", "country", "reason"]
    search_fields = ["phone_number", "twilio_sid", "friendly_name"]
    actions = ["close_tenant"]

    @admin.action(description="Close this tenant: suspend it, release all its numbers, close its Twilio subaccount")
    def close_tenant(self, request: HttpRequest, queryset: QuerySet[PhoneNumber]) -> None:
        tenant = current_tenant()  # the changelist runs in the chosen tenant's schema
        releasing = tenant_close(tenant=tenant, reason="Closed by staff.")
        self.message_user(request, f"{tenant.slug} closed: {releasing} number(s) being released.", messages.WARNING)

    def get_urls(self) -> list[URLPattern]:
        every_tenant = path(
            "every-tenant/",
            self.admin_site.admin_view(self.every_tenant_view),
            name="numbers_phonenumber_every_tenant",
        )
        return [every_tenant, *super().get_urls()]

    def every_tenant_view(self, request: HttpRequest) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Phone numbers of every tenant",
            "opts": self.model._meta,
            "numbers": numbers_of_every_tenant(limit=EVERY_TENANT_LIMIT),
            "limit": EVERY_TENANT_LIMIT,
        }
        return TemplateResponse(request, "admin/numbers/every_tenant.html", context)
