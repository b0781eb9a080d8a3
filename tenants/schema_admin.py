"""Staff admin pages (public host) for records that live in each tenant's own schema, read-only, for support.

Staff choose the tenant (?tenant=<slug>, remembered in their session), and each page is built and rendered
in that schema. Changes are the tenant's to make, through the portal and the API, where the services check
them and do what they must.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_tenants.utils import get_public_schema_name, tenant_context

from tenants.models import Tenant

TENANT_PARAMETER = "tenant"
SESSION_KEY = "admin_tenant_schema"


class TenantSchemaAdmin(admin.ModelAdmin):
    """Read-only admin pages for a model that lives in each tenant's schema."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def _chosen_tenant(self, request: HttpRequest) -> Tenant | None:
        if TENANT_PARAMETER in request.GET:
            request.session[SESSION_KEY] = request.GET[TENANT_PARAMETER]
            # Not one of the list's filters, which would refuse a parameter it does not know.
            query = request.GET.copy()
            query.pop(TENANT_PARAMETER)
            request.GET = query  # type: ignore[assignment]  # a mutable copy, where Django types the original
        slug = request.session.get(SESSION_KEY)
        tenants = Tenant.objects.exclude(schema_name=get_public_schema_name())
        return tenants.filter(slug=slug).first() if slug else None

    def _in_tenant(self, request: HttpRequest, view: Callable[..., HttpResponse], **kwargs: Any) -> HttpResponse:
        tenant = self._chosen_tenant(request)
        if tenant is None:
            context = {
                **self.admin_site.each_context(request),
                "title": f"{self.model._meta.verbose_name_plural.capitalize()}: choose a tenant",
                "opts": self.model._meta,
                "tenants": Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("slug"),
                "parameter": TENANT_PARAMETER,
            }
            return TemplateResponse(request, "admin/choose_tenant.html", context)
        extra_context = {
            **(kwargs.pop("extra_context", None) or {}),
            "subtitle": f"Tenant: {tenant.name} ({tenant.slug})",
        }
        with tenant_context(tenant):
            response = view(request, extra_context=extra_context, **kwargs)
            # Rendered here: its queries must run in the tenant's schema, not after the view returns.
            if isinstance(response, TemplateResponse):
                response.render()
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self._in_tenant(request, super().changelist_view, extra_context=extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self._in_tenant(
            request, super().change_view, object_id=object_id, form_url=form_url, extra_context=extra_context
        )
