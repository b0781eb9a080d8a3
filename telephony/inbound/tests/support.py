"""Signed requests as Twilio sends them, to a tenant's host or the public host."""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator

from telephony.registry.models import TwilioAccount
from telephony.signatures import public_base_url
from tenants.hosts import tenant_base_url
from testsupport.tenants import TenantSetup

if TYPE_CHECKING:  # what the test client answers (a type of django-stubs only)
    from django.test.client import _MonkeyPatchedWSGIResponse as Answer

CALLER = "+14155559876"


def token_of(setup: TenantSetup) -> str:
    return TwilioAccount.objects.get(tenant=setup.tenant).auth_token


def account_sid_of(setup: TenantSetup) -> str:
    return TwilioAccount.objects.get(tenant=setup.tenant).account_sid


def base_url(setup: TenantSetup | None) -> str:
    """Where Twilio calls: the tenant's host, or (None) the public host."""
    return tenant_base_url(setup.tenant) if setup else public_base_url()


def twilio_post(
    setup: TenantSetup | None,
    path: str,
    params: dict[str, str],
    *,
    token: str | None,
    signed_url: str | None = None,
) -> "Answer":
    """POSTs like Twilio: to the tenant's host (or the public host), signed with `token` (None: unsigned)."""
    url = signed_url or base_url(setup) + path
    headers: dict[str, Any] = {}
    if token is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = RequestValidator(token).compute_signature(url, params)
    host = setup.host if setup else settings.BASE_DOMAIN
    return Client(HTTP_HOST=host).post(path, params, **headers)


def call_params(setup: TenantSetup, *, to: str, sid: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": account_sid_of(setup),
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": CALLER,
        "To": to,
        "Caller": CALLER,
        "Called": to,
        **extra,
    }


def sms_params(setup: TenantSetup, *, to: str, sid: str, body: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": account_sid_of(setup),
        "ApiVersion": "2010-04-01",
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "SmsStatus": "received",
        "From": CALLER,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        **extra,
    }
