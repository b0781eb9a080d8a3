"""A twilio-python HTTP client that sends every Twilio API request to a sandbox instead.

    from twilio.rest import Client
    from sandbox.twilio.client import SandboxHttpClient

    client = Client(account_sid, auth_token, http_client=SandboxHttpClient("http://127.0.0.1:8099"))

Only the scheme and host change: *.twilio.com URLs (api.twilio.com, and the regional/edge hosts a
Client with region= or edge= builds, like api.dublin.ie1.twilio.com) are pointed at the sandbox, with
path and query untouched. Everything else about the request -- Basic auth, form encoding, headers,
paging via next_page_uri, error parsing into TwilioRestException -- is twilio-python's own code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client


class SandboxHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"sandbox base URL must be http(s)://host:port, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path
        if self.session is not None and kwargs.get("max_retries") is None:
            # TwilioHttpClient only sizes the https:// pool; the sandbox is usually plain http.
            self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=32))

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host == "twilio.com" or host.endswith(".twilio.com"):
            return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment))
        return url

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def sandbox_client(base_url: str, account_sid: str, auth_token: str, **http_kwargs: Any) -> Client:
    """A twilio.rest.Client wired to the sandbox; http_kwargs go to SandboxHttpClient (e.g. timeout=5)."""
    return Client(account_sid, auth_token, http_client=SandboxHttpClient(base_url, **http_kwargs))
