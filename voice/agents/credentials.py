"""The LLM credentials a tenant's call uses: its own provider key, decrypted, or the fake LLM's for "fake"."""

from django.conf import settings

from voice.agents.llm.types import LLMCredentials
from voice.agents.lookup import cached
from voice.agents.models import LLMProvider, ProviderCredential

# Where each wire format of the project's fake LLM server answers, under settings.LLM_FAKE_BASE_URL.
FAKE_PATHS: dict[str, str] = {LLMProvider.FAKE: "/openai/v1", LLMProvider.FAKE_ANTHROPIC: "/anthropic"}


def llm_credentials_for(*, provider: str) -> LLMCredentials | None:
    """The current tenant's credentials for `provider`, or None when it has none (the call cannot use it).
    Kept by the process like agent configurations (voice.agents.lookup) until the tenant's keys change."""
    if provider in FAKE_PATHS:
        if not settings.LLM_FAKE_ENABLED:
            return None  # an agent saved before the fake LLM was turned off: its calls apologise and end
        return LLMCredentials(
            api_key=settings.LLM_FAKE_API_KEY, base_url=settings.LLM_FAKE_BASE_URL.rstrip("/") + FAKE_PATHS[provider]
        )
    return cached(f"credentials:{provider}", lambda: _read(provider))


def _read(provider: str) -> LLMCredentials | None:
    credential = ProviderCredential.objects.filter(provider=provider).first()
    if credential is None:
        return None
    base_url = credential.base_url
    if provider == LLMProvider.OPENROUTER and not base_url:
        base_url = settings.LLM_OPENROUTER_BASE_URL
    return LLMCredentials(
        api_key=credential.api_key,
        base_url=base_url,
        azure_endpoint=credential.azure_endpoint,
        azure_deployment=credential.azure_deployment,
        azure_api_version=credential.azure_api_version,
    )
