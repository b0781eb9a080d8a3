"""Routes on the public host (BASE_DOMAIN): staff admin, staff onboarding API, health, and Twilio's webhooks for
numbers configured to call the platform itself (routed to their tenant by the number called)."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from billing import urls as billing_urls
from config.health import healthz, readyz
from telephony.inbound import urls as inbound_urls
from tenants.api import StaffTenantViewSet

staff_router = SimpleRouter(trailing_slash=True)
staff_router.register("tenants", StaffTenantViewSet, basename="staff-tenant")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(staff_router.urls)),
    *inbound_urls.webhook_urlpatterns,
    *billing_urls.public_urlpatterns,
]

handler404 = "config.rest.not_found"
handler500 = "config.rest.server_error"
