from urllib.parse import urlencode

from django.http import HttpRequest

from tenants.accounts.roles import Role
from tenants.authentication import API_KEY_QUERY_PARAMETER


def portal_key_query(request: HttpRequest) -> dict[str, str]:
    """Pages embedded by the legacy client are opened with ?apiKey=...; links and forms must keep it."""
    key = request.GET.get(API_KEY_QUERY_PARAMETER)
    return {"key_query": "?" + urlencode({API_KEY_QUERY_PARAMETER: key}) if key else ""}


def portal_roles(request: HttpRequest) -> dict[str, bool]:
    """What the navigation offers: admins see the pages only they may open."""
    has_role = getattr(getattr(request, "user", None), "has_role", None)  # staff users on the public host have none
    return {"portal_admin": bool(has_role and has_role(Role.ADMIN))}
