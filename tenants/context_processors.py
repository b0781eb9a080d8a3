from urllib.parse import urlencode

from django.http import HttpRequest

from tenants.authentication import API_KEY_QUERY_PARAMETER


def portal_key_query(request: HttpRequest) -> dict[str, str]:
    """Pages embedded by the legacy client are opened with ?apiKey=...; links and forms must keep it."""
    key = request.GET.get(API_KEY_QUERY_PARAMETER)
    return {"key_query": "?" + urlencode({API_KEY_QUERY_PARAMETER: key}) if key else ""}
