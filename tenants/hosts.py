"""Where a tenant lives on the web. URLs come from configuration, never from a request's Host header."""

from django.conf import settings

from tenants.models import Tenant


def tenant_domain_for(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def base_url_for(domain: str) -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{domain}{port}"


def tenant_base_url(tenant: Tenant) -> str:
    """http(s)://{primary domain}[:port] — what Twilio, emails and API responses point at."""
    domain = tenant.get_primary_domain()
    return base_url_for(domain.domain if domain else tenant_domain_for(tenant.slug))
