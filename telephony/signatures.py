"""Validation of Twilio's X-Twilio-Signature on requests to a tenant host."""

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

from telephony.registry.models import TwilioAccount
from tenants.hosts import tenant_base_url
from tenants.models import Tenant


def twilio_auth_token_for(tenant: Tenant) -> str:
    """The auth token Twilio signs this tenant's requests with: its own account's once it has one."""
    account = TwilioAccount.objects.filter(tenant=tenant, status=TwilioAccount.Status.ACTIVE).first()
    return account.auth_token if account else settings.TWILIO_AUTH_TOKEN


def public_url_of(request: HttpRequest, tenant: Tenant) -> str:
    """The URL Twilio called, from configuration, never from the Host header a client controls."""
    return tenant_base_url(tenant) + request.get_full_path()


def is_signed_by_twilio(request: HttpRequest, tenant: Tenant) -> bool:
    token = twilio_auth_token_for(tenant)
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not token or not signature:
        return False
    params = request.POST.dict() if request.method == "POST" else {}
    return RequestValidator(token).validate(public_url_of(request, tenant), params, signature)
