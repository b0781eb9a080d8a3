"""API key authentication, shared by the REST API and the portal (which the legacy client iframes)."""

from dataclasses import dataclass

import structlog
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.models import ApiKey
from tenants.selectors import api_key_for_tenant
from tenants.services import api_key_mark_used

API_KEY_HEADER = "HTTP_X_API_KEY"
API_KEY_QUERY_PARAMETER = "apiKey"

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ApiKeyUser:
    """What `request.user` is when a request authenticated with an API key rather than a login."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    @property
    def role(self) -> str:
        return self.api_key.role

    @property
    def email(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    def has_role(self, role: Role) -> bool:
        return Role(self.role).includes(role)

    def __str__(self) -> str:
        return self.email


def raw_api_key_from(request: HttpRequest) -> str | None:
    """The key from `Authorization: Bearer`, `X-API-Key` or `?apiKey=`, in that order of preference."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    header_key = request.META.get(API_KEY_HEADER, "").strip()
    if header_key:
        return header_key
    return request.GET.get(API_KEY_QUERY_PARAMETER, "").strip() or None


def api_key_user_from(request: HttpRequest) -> ApiKeyUser | None:
    """None when the request carries no key; raises AuthenticationFailed for a key that is not valid here."""
    raw_key = raw_api_key_from(request)
    if raw_key is None:
        return None
    api_key = api_key_for_tenant(tenant=current_tenant(), raw_key=raw_key)
    if api_key is None:
        # Only the visible prefix of what was sent: a key that is valid for another tenant stays secret.
        logger.warning("api_key_rejected", key_prefix=raw_key[:11] if raw_key.startswith("sb_") else None)
        raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.", code="invalid_api_key")
    api_key_mark_used(api_key=api_key)
    structlog.contextvars.bind_contextvars(key_prefix=api_key.prefix)
    return ApiKeyUser(api_key=api_key)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        user = api_key_user_from(request._request)
        return None if user is None else (user, user.api_key)

    def authenticate_header(self, request: Request) -> str:
        # Its presence makes DRF answer 401 (not 403) to requests without credentials.
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = ["BearerApiKey", "HeaderApiKey", "QueryApiKey"]

    def get_security_definition(self, auto_schema: object) -> list[dict[str, str]]:
        return [
            {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"},
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {
                "type": "apiKey",
                "in": "query",
                "name": API_KEY_QUERY_PARAMETER,
                "description": "For embedded pages only.",
            },
        ]
