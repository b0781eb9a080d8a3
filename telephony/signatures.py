"""Validation of Twilio's X-Twilio-Signature on the requests Twilio makes to us.

Twilio signs the URL it called, so the URL is rebuilt from configuration (the tenant's or the public
host's base URL, see tenants.hosts), never from the Host header a client controls: behind a TLS proxy
the https URL Twilio called still validates. Every parameter received counts (Twilio adds parameters
without notice); a JSON body is signed by its SHA-256 in the URL's bodySHA256 instead. twilio-python's
RequestValidator also accepts the URL with or without its default port.
"""

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

from telephony.registry.models import TwilioAccount
from tenants.freshness import kept, tenant_changed
from tenants.hosts import base_url_for, tenant_base_url
from tenants.models import Tenant


def _read_auth_token(tenant: Tenant) -> str:
    account = TwilioAccount.objects.filter(tenant=tenant, status=TwilioAccount.Status.ACTIVE).first()
    return account.auth_token if account else settings.TWILIO_AUTH_TOKEN


def _read_account_sid(tenant: Tenant) -> str:
    account = TwilioAccount.objects.filter(tenant=tenant, status=TwilioAccount.Status.ACTIVE).first()
    return account.account_sid if account else settings.TWILIO_ACCOUNT_SID


def twilio_account_sid_for(tenant: Tenant) -> str:
    """The Twilio account this tenant's calls run on (what Twilio names as accountSid), kept like its token."""
    return kept(tenant.schema_name, "twilio-account-sid", lambda: _read_account_sid(tenant))


def twilio_auth_token_for(tenant: Tenant) -> str:
    """The auth token Twilio signs this tenant's requests with: its own account's once it has one. Kept (decrypted)
    in the process's memory until the account changes (tenants.freshness); never logged."""
    return kept(tenant.schema_name, "twilio-auth-token", lambda: _read_auth_token(tenant))


def _account_changed(sender: type[TwilioAccount], instance: TwilioAccount, **kwargs: Any) -> None:
    schema = Tenant.objects.filter(pk=instance.tenant_id).values_list("schema_name", flat=True).first()
    if schema:
        tenant_changed(schema)


post_save.connect(_account_changed, sender=TwilioAccount, dispatch_uid="signatures-account-changed")
post_delete.connect(_account_changed, sender=TwilioAccount, dispatch_uid="signatures-account-deleted")


def public_base_url() -> str:
    """The public host's base URL, where Twilio reaches numbers configured to call the platform itself."""
    return base_url_for(settings.BASE_DOMAIN)


def is_signed_by_twilio(request: HttpRequest, tenant: Tenant, *, base_url: str | None = None) -> bool:
    """`base_url`: where Twilio called (default: the tenant's host)."""
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not signature:
        return False
    url = (base_url or tenant_base_url(tenant)) + request.get_full_path()
    token = twilio_auth_token_for(tenant)
    if _signed_with(token, request, url, signature):
        return True
    fresh = _read_auth_token(tenant)  # what was kept may predate a change that moved no generation
    return fresh != token and _signed_with(fresh, request, url, signature)


def is_url_signed_by_twilio(tenant: Tenant, *, url: str, signature: str) -> bool:
    """A request Twilio signs over its URL alone, with no parameters (the ConversationRelay socket's upgrade).
    An empty auth token signs nothing: anyone can compute that signature."""
    if not signature:
        return False
    token = twilio_auth_token_for(tenant)
    if _url_signed_with(token, url, signature):
        return True
    fresh = _read_auth_token(tenant)  # what was kept may predate a change that moved no generation
    return fresh != token and _url_signed_with(fresh, url, signature)


def _url_signed_with(token: str, url: str, signature: str) -> bool:
    return bool(token) and bool(RequestValidator(token).validate(url, {}, signature))


def _signed_with(token: str, request: HttpRequest, url: str, signature: str) -> bool:
    if not token:
        return False
    validator = RequestValidator(token)
    if "bodySHA256" in request.GET:
        return bool(validator.validate(url, request.body.decode("utf-8", "replace"), signature))
    params = request.POST if request.method == "POST" else {}
    return bool(validator.validate(url, params, signature))
