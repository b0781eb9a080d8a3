from collections.abc import Awaitable, Callable
from typing import Any

from django.core.cache import caches
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from config.rest import problem_response
from tenants.db import connection
from tenants.freshness import KEEP_SECONDS, generation, request_scope, still_current, tenant_changed
from tenants.models import Domain, Tenant

# Liveness and readiness must answer for every host, suspended or not.
ALWAYS_OPEN_PATHS = frozenset({"/healthz", "/readyz"})
# A suspended tenant's admins can still sign in and pay: billing suspends for an unpaid subscription, and the
# Billing page is where it is paid (and the suspension lifted).
OPEN_WHILE_SUSPENDED_PREFIXES = ("/accounts/login/", "/accounts/logout/", "/billing/")


class CachedTenantMainMiddleware(TenantMainMiddleware):
    """django-tenants' TenantMainMiddleware (the tenant from the request's host name; its schema and URLconf for
    the request), with the host name -> tenant lookup kept by the process until that tenant or its domains change
    (tenants.freshness: one Redis GET per request instead of a query, and the tenant's generation is read once for
    the whole request). Kept under the exact host name it looks up, so a host only ever gets the tenant its own
    Domain row names; a host no tenant has is not kept. Each request gets its own copy of the tenant."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        with request_scope():  # (served under WSGI: under ASGI the scope ends early and each read asks Redis)
            return super().__call__(request)

    def get_tenant(self, domain_model: type[Domain], hostname: str) -> Tenant:
        key = f"tenant-for-host:{hostname}"
        kept = caches["process"].get(key)
        if kept is not None and still_current(kept[0].schema_name, kept[1]):
            return kept[0]
        tenant = super().get_tenant(domain_model, hostname)
        caches["process"].set(key, (tenant, generation(tenant.schema_name)), KEEP_SECONDS)
        return tenant


def _tenant_saved(sender: type[Tenant], instance: Tenant, **kwargs: Any) -> None:
    tenant_changed(instance.schema_name)


def _domain_moving(sender: type[Domain], instance: Domain, **kwargs: Any) -> None:
    """A domain given to another tenant has left the first one too."""
    if instance.pk is not None:
        before = Domain.objects.filter(pk=instance.pk).exclude(tenant_id=instance.tenant_id).values_list("tenant_id")
        for (tenant_id,) in before:
            _domain_changed(sender, Domain(tenant_id=tenant_id))


def _domain_changed(sender: type[Domain], instance: Domain, **kwargs: Any) -> None:
    schema = Tenant.objects.filter(pk=instance.tenant_id).values_list("schema_name", flat=True).first()
    if schema:
        tenant_changed(schema)


post_save.connect(_tenant_saved, sender=Tenant, dispatch_uid="tenant-kept-tenant-saved")
post_delete.connect(_tenant_saved, sender=Tenant, dispatch_uid="tenant-kept-tenant-deleted")
pre_save.connect(_domain_moving, sender=Domain, dispatch_uid="tenant-kept-domain-moving")
post_save.connect(_domain_changed, sender=Domain, dispatch_uid="tenant-kept-domain-saved")
post_delete.connect(_domain_changed, sender=Domain, dispatch_uid="tenant-kept-domain-deleted")


class SuspendedTenantMiddleware:
    """A suspended tenant's API and portal answer 403, but for signing in and the Billing page; nothing is deleted
    or changed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = connection.tenant
        # set_schema() leaves a FakeTenant without is_suspended; only a real tenant row can be suspended
        if (
            tenant is not None
            and getattr(tenant, "is_suspended", False)
            and request.path not in ALWAYS_OPEN_PATHS
            and not request.path.startswith(OPEN_WHILE_SUSPENDED_PREFIXES)
        ):
            detail = f"The account '{tenant.slug}' is suspended. Contact support to reactivate it."
            if request.path.startswith("/api/"):
                return problem_response(403, detail, code="tenant-suspended")
            return render(request, "tenants/suspended.html", {"tenant": tenant, "detail": detail}, status=403)
        return self.get_response(request)
