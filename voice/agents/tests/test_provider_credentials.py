"""What a call gets as LLM credentials: the tenant's own key, decrypted, for its provider; the fake LLM's for
"fake"; nothing for a provider it has no key for; never another tenant's; a replaced key at once."""

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from testsupport.tenants import TenantSetup
from voice.agents import lookup, services
from voice.agents.credentials import llm_credentials_for
from voice.agents.llm.types import LLMCredentials
from voice.agents.models import ProviderCredential

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    lookup.forget_kept()


def test_the_tenants_key_decrypted_with_its_azure_settings(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        services.provider_credential_save(
            provider="azure",
            api_key="azure-key-alpha-0001",
            azure_endpoint="https://alpha.openai.azure.com",
            azure_deployment="voice-gpt",
            azure_api_version="2024-10-21",
        )
        services.provider_credential_save(provider="openrouter", api_key="sk-or-alpha-0002")

        assert llm_credentials_for(provider="azure") == LLMCredentials(
            api_key="azure-key-alpha-0001",
            azure_endpoint="https://alpha.openai.azure.com",
            azure_deployment="voice-gpt",
            azure_api_version="2024-10-21",
        )
        openrouter = llm_credentials_for(provider="openrouter")
        assert openrouter is not None
        assert (openrouter.api_key, openrouter.base_url) == ("sk-or-alpha-0002", settings.LLM_OPENROUTER_BASE_URL)
        assert llm_credentials_for(provider="openai") is None
        assert "alpha-0001" not in repr(llm_credentials_for(provider="azure"))


def test_the_fake_llm_needs_no_key_of_the_tenant(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        fake, fake_anthropic = llm_credentials_for(provider="fake"), llm_credentials_for(provider="fake-anthropic")
    assert fake is not None and fake_anthropic is not None
    assert fake.base_url == settings.LLM_FAKE_BASE_URL.rstrip("/") + "/openai/v1"
    assert fake_anthropic.base_url == settings.LLM_FAKE_BASE_URL.rstrip("/") + "/anthropic"
    assert fake.api_key == settings.LLM_FAKE_API_KEY


def test_a_replaced_or_deleted_key_is_what_the_next_call_gets(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        services.provider_credential_save(provider="openai", api_key="sk-first-00000001")
        assert llm_credentials_for(provider="openai") == LLMCredentials(api_key="sk-first-00000001")
        services.provider_credential_save(provider="openai", api_key="sk-second-0000002")
        assert llm_credentials_for(provider="openai") == LLMCredentials(api_key="sk-second-0000002")
        services.provider_credential_delete(credential=ProviderCredential.objects.get(provider="openai"))
        assert llm_credentials_for(provider="openai") is None


def test_a_tenant_never_gets_another_tenants_key(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        services.provider_credential_save(provider="anthropic", api_key="sk-ant-alpha-0001")
        assert llm_credentials_for(provider="anthropic") is not None
    with tenant_context(beta.tenant):
        assert llm_credentials_for(provider="anthropic") is None
        services.provider_credential_save(provider="anthropic", api_key="sk-ant-beta-00002")
        assert llm_credentials_for(provider="anthropic") == LLMCredentials(api_key="sk-ant-beta-00002")
    with tenant_context(alpha.tenant):
        assert llm_credentials_for(provider="anthropic") == LLMCredentials(api_key="sk-ant-alpha-0001")
