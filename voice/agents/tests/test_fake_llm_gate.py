"""The project's fake LLM is for development and tests: where LLM_FAKE_ENABLED is off an agent cannot choose it,
new agents start on the platform's real provider, a call never reaches it, and a default naming it fails the
system checks."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_tenants.utils import tenant_context

from testsupport.tenants import TenantSetup
from voice.agents import services
from voice.agents.checks import platform_default_provider_check
from voice.agents.credentials import llm_credentials_for
from voice.agents.models import FAKE_DISABLED, Agent, ProviderCredential
from voice.agents.tests.support import agent_fields

pytestmark = pytest.mark.django_db

REAL_DEFAULTS = {"llm_provider": "openai", "llm_model": "gpt-4.1-mini"}


@pytest.mark.parametrize("provider", ["fake", "fake-anthropic"])
def test_a_fake_provider_is_a_field_error_where_the_fake_llm_is_off(alpha: TenantSetup, provider: str) -> None:
    model = "fake-model" if provider == "fake" else "fake-claude"
    with tenant_context(alpha.tenant), override_settings(LLM_FAKE_ENABLED=False, AGENT_DEFAULTS=REAL_DEFAULTS):
        with pytest.raises(ValidationError) as refusal:
            services.agent_create(fields=agent_fields(llm_provider=provider, llm_model=model), created_by="test")
        assert refusal.value.message_dict["llm_provider"] == [FAKE_DISABLED]
        assert not Agent.objects.exists()
        assert llm_credentials_for(provider=provider) is None  # an agent saved before: its calls get no model


def test_a_new_agent_starts_on_the_platform_defaults_provider(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        assert (Agent().llm_provider, Agent().llm_model) == ("fake", "fake-model")  # tests: the fake LLM is on
        with override_settings(LLM_FAKE_ENABLED=False, AGENT_DEFAULTS=REAL_DEFAULTS):
            assert (Agent().llm_provider, Agent().llm_model) == ("openai", "gpt-4.1-mini")


def test_the_fake_servers_plain_http_address_is_a_key_base_url_only_while_it_is_on(alpha: TenantSetup) -> None:
    fake_url = "http://127.0.0.1:8098/openai/v1"
    with tenant_context(alpha.tenant), override_settings(LLM_FAKE_BASE_URL="http://127.0.0.1:8098"):
        services.provider_credential_save(provider="openai", api_key="sk-test-00000001", base_url=fake_url)
        with override_settings(LLM_FAKE_ENABLED=False), pytest.raises(ValidationError) as refusal:
            services.provider_credential_save(provider="openai", api_key="sk-test-00000002", base_url=fake_url)
        assert "base_url" in refusal.value.message_dict
        with pytest.raises(ValidationError):
            services.provider_credential_save(
                provider="openai", api_key="sk-test-00000003", base_url="http://elsewhere.example/v1"
            )
        assert ProviderCredential.objects.get().api_key == "sk-test-00000001"


def test_a_platform_default_naming_the_fake_llm_fails_the_checks_where_it_is_off() -> None:
    assert platform_default_provider_check() == []
    with override_settings(LLM_FAKE_ENABLED=False, AGENT_DEFAULTS={"llm_provider": "fake"}):
        [error] = platform_default_provider_check()
        assert error.id == "agents.E001"
    with override_settings(LLM_FAKE_ENABLED=False, AGENT_DEFAULTS=REAL_DEFAULTS):
        assert platform_default_provider_check() == []
