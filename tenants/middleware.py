from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.rest import problem_response
from tenants.db import connection

# Liveness and readiness must answer for every host, suspended or not.
ALWAYS_OPEN_PATHS = frozenset({"/healthz", "/readyz"})


class SuspendedTenantMiddleware:
    """A suspended tenant's API and portal answer 403; nothing is deleted or changed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = connection.tenant
        # set_schema() leaves a FakeTenant without is_suspended; only a real tenant row can be suspended
        if tenant is not None and getattr(tenant, "is_suspended", False) and request.path not in ALWAYS_OPEN_PATHS:
            detail = f"The account '{tenant.slug}' is suspended. Contact support to reactivate it."
            if request.path.startswith("/api/"):
                return problem_response(403, detail, code="tenant-suspended")
            return render(request, "tenants/suspended.html", {"tenant": tenant, "detail": detail}, status=403)
        return self.get_response(request)
