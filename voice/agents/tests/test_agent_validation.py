"""An agent's configuration is checked field by field: ranges, choices, E.164 transfer numbers, and a provider
needs the tenant's key (except the project's fake LLM)."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from telephony.inbound.models import NumberSettings
from testsupport.tenants import TenantSetup
from voice.agents import services
from voice.agents.models import Agent
from voice.agents.services import OutboundOnlyAgent
from voice.agents.tests.support import agent_fields

pytestmark = pytest.mark.django_db


def refused(setup: TenantSetup, **overrides: Any) -> dict[str, list[str]]:
    with tenant_context(setup.tenant):
        before = Agent.objects.count()
        with pytest.raises(ValidationError) as refusal:
            services.agent_create(fields=agent_fields(**overrides), created_by="test")
        assert Agent.objects.count() == before, "a refused agent is not saved"
    return refusal.value.message_dict


@pytest.mark.parametrize(
    ("field", "bad", "good_edges"),
    [
        ("temperature", [-0.1, 2.01], [0, 2]),
        ("max_tokens", [0, 4001], [1, 4000]),
        ("max_duration_seconds", [59, 7201], [60, 7200]),
        ("silence_timeout_seconds", [4, 601], [5, 600]),
    ],
)
def test_each_range_is_enforced_at_its_edges(
    alpha: TenantSetup, field: str, bad: list[float], good_edges: list[float]
) -> None:
    for value in bad:
        assert list(refused(alpha, **{field: value})) == [field], value
    with tenant_context(alpha.tenant):
        for value in good_edges:
            agent = services.agent_create(fields=agent_fields(**{field: value}), created_by="test")
            assert getattr(agent.config(), field) == value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "sideways"),
        ("llm_provider", "skynet"),
        ("tts_provider", "Acme"),
        ("transcription_provider", "Whisper"),
        ("interruptible", "sometimes"),
        ("interrupt_sensitivity", "extreme"),
    ],
)
def test_a_value_outside_the_choices_is_a_field_error(alpha: TenantSetup, field: str, value: str) -> None:
    assert field in refused(alpha, **{field: value})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tts_provider": "Amazon", "voice": "en-US-Journey-O"}, "voice"),
        ({"tts_provider": "ElevenLabs", "voice": "Joanna-Neural"}, "voice"),
        ({"transcription_provider": "Google", "speech_model": "nova-3-general"}, "speech_model"),
        ({"language": "english"}, "language"),
        ({"languages": ["es-ES", "klingon"]}, "languages"),
        ({"llm_model": ""}, "llm_model"),
        ({"llm_fallback_model": "fake-model"}, "llm_fallback_model"),
        ({"system_prompt": "   "}, "system_prompt"),
        ({"analysis_categories": ["sales", "sales"]}, "analysis_categories"),
        ({"analysis_custom_fields": [{"name": "Order Id", "type": "string"}]}, "analysis_custom_fields"),
        ({"analysis_custom_fields": [{"name": "order_id", "type": "date"}]}, "analysis_custom_fields"),
        ({"hints": "Switchboard"}, "hints"),
        ({"end_of_call_webhook_url": "not a url"}, "end_of_call_webhook_url"),
    ],
)
def test_voices_models_languages_and_analysis_settings_are_checked(
    alpha: TenantSetup, overrides: dict[str, Any], field: str
) -> None:
    assert list(refused(alpha, **overrides)) == [field]


def test_voices_and_models_of_each_provider_are_accepted(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        for overrides in (
            {"tts_provider": "Amazon", "voice": "Joanna-Neural"},
            {"tts_provider": "ElevenLabs", "voice": "UgBBYS2sOqTuMpoF3BR0"},
            {"tts_provider": "Google", "voice": "en-GB-Neural2-B", "tts_language": "en-GB"},
            {"transcription_provider": "Google", "speech_model": "telephony"},
            {
                "llm_provider": "fake-anthropic",
                "llm_model": "fake-claude",
                "llm_fallback_model": "fake-claude-fallback",
            },
        ):
            agent = services.agent_create(fields=agent_fields(**overrides), created_by="test")
            assert {name: getattr(agent, name) for name in overrides} == overrides


def test_transfer_numbers_are_stored_in_e164_and_anything_else_is_refused(alpha: TenantSetup) -> None:
    errors = refused(alpha, transfer_numbers=["+1 415 555 0100", "555-0100"])
    assert list(errors) == ["transfer_numbers"] and "555-0100" in errors["transfer_numbers"][0]
    assert "transfer_numbers" in refused(alpha, transfer_rules="Transfer angry callers.")

    with tenant_context(alpha.tenant):
        agent = services.agent_create(
            fields=agent_fields(transfer_numbers=["+1 (415) 555-0100", "+44 20 7946 0958"]), created_by="test"
        )
    assert agent.config().transfer_numbers == ("+14155550100", "+442079460958")


@pytest.mark.parametrize("provider", ["openai", "anthropic", "openrouter", "azure"])
def test_a_provider_without_the_tenants_key_is_a_field_error(alpha: TenantSetup, provider: str) -> None:
    model = {"openai": "gpt-4.1-mini", "anthropic": "claude-haiku-4-5", "openrouter": "openai/gpt-4.1-mini"}
    errors = refused(alpha, llm_provider=provider, llm_model=model.get(provider, "my-deployment"))
    assert list(errors) == ["llm_provider"] and "API key" in errors["llm_provider"][0]


def test_with_the_key_the_provider_is_accepted_and_its_model_names_checked(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        services.provider_credential_save(provider="openai", api_key="sk-test-0123456789abcd")
        agent = services.agent_create(
            fields=agent_fields(llm_provider="openai", llm_model="gpt-4.1-mini"), created_by="t"
        )
        assert agent.llm_provider == "openai"
    assert list(refused(alpha, llm_provider="openai", llm_model="claude-haiku-4-5")) == ["llm_model"]


def test_an_azure_key_needs_its_endpoint_deployment_and_version(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        with pytest.raises(ValidationError) as refusal:
            services.provider_credential_save(provider="azure", api_key="azure-key-0123456789")
    assert set(refusal.value.message_dict) == {"azure_endpoint", "azure_deployment", "azure_api_version"}


def test_only_one_agent_is_the_default(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        first = services.agent_create(fields=agent_fields(name="First"), created_by="t", make_default=True)
        second = services.agent_create(fields=agent_fields(name="Second"), created_by="t", make_default=True)

        assert list(Agent.objects.filter(is_default=True)) == [second]
        first.refresh_from_db()
        assert not first.is_default


def test_an_outbound_only_agent_answers_no_calls(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        with pytest.raises(OutboundOnlyAgent):
            services.agent_create(fields=agent_fields(kind="outbound"), created_by="t", make_default=True)
        assert not Agent.objects.exists()

        answering = services.agent_create(fields=agent_fields(kind="both"), created_by="t")
        NumberSettings.objects.create(phone_number="+14155550100", agent=answering)
        with pytest.raises(ValidationError) as refusal:
            services.agent_update(agent=answering, fields={"kind": "outbound"}, created_by="t")
        assert list(refusal.value.message_dict) == ["kind"] and "+14155550100" in refusal.value.messages[0]

        default = services.agent_create(fields=agent_fields(name="Default"), created_by="t", make_default=True)
        with pytest.raises(ValidationError, match="it is the default"):
            services.agent_update(agent=default, fields={"kind": "outbound"}, created_by="t")
        assert services.agent_update(agent=default, fields={"kind": "both"}, created_by="t").kind == "both"
