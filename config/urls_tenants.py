"""Routes on a tenant's host ({slug}.BASE_DOMAIN): portal, REST API, OpenAPI, health."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing import urls as billing_urls
from config.health import healthz, readyz
from telephony import urls as telephony_urls
from telephony.appointments import urls as appointment_urls
from telephony.inbound import urls as inbound_urls
from telephony.numbers import urls as number_urls
from tenants import urls as tenant_urls
from voice import urls as voice_urls
from voice.agents import urls as agent_urls
from voice.conversations import urls as conversation_urls

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path(
        "api/v1/",
        include(
            tenant_urls.api_urlpatterns
            + voice_urls.api_urlpatterns
            + telephony_urls.api_urlpatterns
            + inbound_urls.api_urlpatterns
            + appointment_urls.api_urlpatterns
            + number_urls.api_urlpatterns
            + billing_urls.api_urlpatterns
            + agent_urls.api_urlpatterns
            + conversation_urls.api_urlpatterns
        ),
    ),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="config.urls_tenants"), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *tenant_urls.portal_urlpatterns,
    *voice_urls.portal_urlpatterns,
    *telephony_urls.portal_urlpatterns,
    *inbound_urls.portal_urlpatterns,
    *appointment_urls.portal_urlpatterns,
    *number_urls.portal_urlpatterns,
    *billing_urls.portal_urlpatterns,
    *agent_urls.portal_urlpatterns,
    *conversation_urls.portal_urlpatterns,
    *voice_urls.public_urlpatterns,
    *telephony_urls.webhook_urlpatterns,
    *inbound_urls.webhook_urlpatterns,
    *number_urls.webhook_urlpatterns,
    *conversation_urls.webhook_urlpatterns,
]

handler404 = "config.rest.not_found"
handler500 = "config.rest.server_error"
