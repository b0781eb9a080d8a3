"""Where each provider is reached, and one SDK client per endpoint kept for the whole process.

A conversation's turns reuse the client of their (provider, key, base URL), so a turn does not pay
for a new connection pool, TCP and TLS setup (bench/llm_adapters.py measures what that saves). The
clients' connection pools belong to the event loop they were first used on, so they are kept per
loop: a Celery task that runs its own loop with asyncio.run() gets fresh ones, never another loop's.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import anthropic
import httpx2
import openai
from django.conf import settings

from voice.agents.llm.types import LLMCredentials, LLMRefused

OPENAI_WIRE = frozenset({"fake", "openai", "openrouter", "azure"})
ANTHROPIC_WIRE = frozenset({"fake-anthropic", "anthropic"})
PROVIDERS = OPENAI_WIRE | ANTHROPIC_WIRE
CLIENTS_PER_LOOP = 256  # tenants' keys: enough for every active one, bounded all the same
# One pool per endpoint carries every concurrent conversation on it: no turn waits for a connection.
POOL_LIMITS = httpx2.Limits(max_connections=500, max_keepalive_connections=200, keepalive_expiry=60)
# Providers are tried again by the engine (a fallback model, a spoken apology), never behind its back.
MAX_RETRIES = 0


@dataclass(frozen=True, slots=True)
class Endpoint:
    provider: str
    api_key: str
    base_url: str
    azure_endpoint: str = ""
    azure_deployment: str = ""
    azure_api_version: str = ""

    @property
    def cache_key(self) -> tuple[str, ...]:
        # The key itself stays out of the cache's keys: only a digest of it.
        digest = hashlib.sha256(self.api_key.encode()).hexdigest()
        return (
            self.provider,
            digest,
            self.base_url,
            self.azure_endpoint,
            self.azure_deployment,
            self.azure_api_version,
        )

    def __repr__(self) -> str:
        return f"Endpoint(provider={self.provider!r}, base_url={self.base_url!r}, api_key='***')"


def fake_root(url: str) -> str:
    """The fake LLM server's root, whether settings name it or one of its provider paths."""
    url = url.rstrip("/")
    for suffix in ("/openai/v1", "/anthropic", "/openrouter/api/v1", "/azure"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def endpoint_for(*, provider: str, credentials: LLMCredentials | None) -> Endpoint:
    if provider not in PROVIDERS:
        raise LLMRefused(f"unknown LLM provider {provider!r}", provider=provider)
    if provider in ("fake", "fake-anthropic"):
        root = fake_root(credentials.base_url if credentials and credentials.base_url else settings.LLM_FAKE_BASE_URL)
        return Endpoint(
            provider=provider,
            api_key=credentials.api_key if credentials and credentials.api_key else settings.LLM_FAKE_API_KEY,
            base_url=root + ("/openai/v1" if provider == "fake" else "/anthropic"),
        )
    if credentials is None or not credentials.api_key:
        raise LLMRefused(f"no {provider} API key is configured", provider=provider)
    if provider == "azure":
        if not credentials.azure_endpoint or not credentials.azure_api_version:
            raise LLMRefused("Azure OpenAI needs an endpoint and an API version", provider=provider)
        return Endpoint(
            provider=provider,
            api_key=credentials.api_key,
            base_url="",
            azure_endpoint=credentials.azure_endpoint.rstrip("/"),
            azure_deployment=credentials.azure_deployment,
            azure_api_version=credentials.azure_api_version,
        )
    base_url = credentials.base_url
    if provider == "openrouter" and not base_url:
        base_url = settings.LLM_OPENROUTER_BASE_URL
    return Endpoint(provider=provider, api_key=credentials.api_key, base_url=base_url.rstrip("/"))


SDKClient = openai.AsyncOpenAI | anthropic.AsyncAnthropic
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedDict[tuple[str, ...], SDKClient]] = (
    weakref.WeakKeyDictionary()
)


def _cached(endpoint: Endpoint) -> tuple[OrderedDict[tuple[str, ...], SDKClient], SDKClient | None]:
    loop = asyncio.get_running_loop()
    clients = _clients.get(loop)
    if clients is None:
        clients = _clients[loop] = OrderedDict()
    client = clients.get(endpoint.cache_key)
    if client is not None:
        clients.move_to_end(endpoint.cache_key)
    return clients, client


_closing: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to its tasks


def _keep(clients: OrderedDict[tuple[str, ...], SDKClient], endpoint: Endpoint, client: SDKClient) -> None:
    clients[endpoint.cache_key] = client
    while len(clients) > CLIENTS_PER_LOOP:
        _, evicted = clients.popitem(last=False)
        # Closing lets its pooled connections go; turns already holding it finish first.
        task = asyncio.get_running_loop().create_task(evicted.close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)


def openai_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    clients, client = _cached(endpoint)
    if isinstance(client, openai.AsyncOpenAI):
        return client
    http_client = openai.DefaultAsyncHttpxClient(limits=POOL_LIMITS)
    made: openai.AsyncOpenAI
    if endpoint.provider == "azure":
        made = openai.AsyncAzureOpenAI(
            api_key=endpoint.api_key,
            azure_endpoint=endpoint.azure_endpoint,
            azure_deployment=endpoint.azure_deployment or None,
            api_version=endpoint.azure_api_version,
            max_retries=MAX_RETRIES,
            http_client=http_client,
        )
    else:
        made = openai.AsyncOpenAI(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url or None,
            max_retries=MAX_RETRIES,
            http_client=http_client,
            # OpenRouter ranks and attributes apps by these; other providers ignore them.
            default_headers={"HTTP-Referer": settings.LLM_APP_URL, "X-Title": "Switchboard"}
            if endpoint.provider == "openrouter"
            else None,
        )
    _keep(clients, endpoint, made)
    return made


def anthropic_client(endpoint: Endpoint) -> anthropic.AsyncAnthropic:
    clients, client = _cached(endpoint)
    if isinstance(client, anthropic.AsyncAnthropic):
        return client
    made = anthropic.AsyncAnthropic(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url or None,
        max_retries=MAX_RETRIES,
        http_client=anthropic.DefaultAsyncHttpxClient(limits=POOL_LIMITS),
    )
    _keep(clients, endpoint, made)
    return made


def request_timeout(seconds: float) -> httpx2.Timeout:
    return httpx2.Timeout(seconds, connect=min(seconds, settings.LLM_CONNECT_TIMEOUT_SECONDS))
