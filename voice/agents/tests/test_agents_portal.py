"""The portal's agent pages: list, create and edit with field errors shown, versions, provider keys; admins only
change them, and each tenant sees its own."""

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from telephony.inbound.models import NumberSettings
from tenants.accounts.roles import Role
from tenants.db import connection
from tenants.services import user_create
from testsupport.tenants import PASSWORD, TenantSetup
from testsupport.twilio import SENDER
from voice.agents import services
from voice.agents.models import Agent, ProviderCredential
from voice.agents.tests.support import make_agent

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk-portal-SECRETVALUE-77aa"


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Reception",
        "kind": "inbound",
        "system_prompt": "You answer for Acme.",
        "greeting": "Acme, hello.",
        "greeting_interruptible": "on",
        "language": "en-US",
        "languages": "es-ES\nfr-FR",
        "llm_provider": "fake",
        "llm_model": "fake-model",
        "temperature": "0.5",
        "max_tokens": "300",
        "tts_provider": "Google",
        "voice": "en-US-Journey-O",
        "transcription_provider": "Deepgram",
        "speech_model": "nova-3-general",
        "hints": "Acme\nWidget",
        "interruptible": "any",
        "interrupt_sensitivity": "medium",
        "dtmf_detection": "on",
        "max_duration_seconds": "600",
        "silence_timeout_seconds": "20",
        "transfer_numbers": "+1 415 555 0100",
        "transfer_rules": "When the caller asks for sales.",
        "analysis_categories": "sales\nsupport",
        "analysis_custom_fields": '[{"name": "order_id", "description": "The order", "type": "string"}]',
    }
    data.update(overrides)
    return data


def test_an_admin_creates_and_edits_an_agent_and_sees_its_versions(alpha: TenantSetup) -> None:
    browser = alpha.signed_in(alpha.admin_email)
    created = browser.post("/agents/new/", form_data())
    assert created.status_code == 302, created.content.decode()[:3000]
    with tenant_context(alpha.tenant):
        agent = Agent.objects.get(name="Reception")
        config = agent.config()
    assert config.languages == ("en-US", "es-ES", "fr-FR") and config.hints == ("Acme", "Widget")
    assert config.transfer_numbers == ("+14155550100",)
    assert config.analysis_custom_fields == ({"name": "order_id", "description": "The order", "type": "string"},)
    assert (config.temperature, config.recording, config.dtmf_detection) == (0.5, False, True)

    edit_page = browser.get(f"/agents/{agent.pk}/").content.decode()
    assert "Acme\nWidget" in edit_page and "You answer for Acme." in edit_page
    edited = browser.post(f"/agents/{agent.pk}/", form_data(greeting="Acme, good day."))
    assert edited.status_code == 302

    listed = browser.get("/agents/").content.decode()
    versions = browser.get(f"/agents/{agent.pk}/versions/?number=1").content.decode()
    assert "Reception" in listed and "v2" in listed
    assert "v1" in versions and "v2" in versions and "Acme, hello." in versions and alpha.admin_email in versions


def test_a_bad_agent_shows_each_field_to_fix_and_saves_nothing(alpha: TenantSetup) -> None:
    browser = alpha.signed_in(alpha.admin_email)
    response = browser.post(
        "/agents/new/",
        form_data(temperature="2.5", max_duration_seconds="30", transfer_numbers="12", llm_provider="openai"),
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Between 0 and 2." in page and "Between 60 and 7200 seconds." in page
    assert "not a phone number" in page and "Add your OpenAI API key" in page
    with tenant_context(alpha.tenant):
        assert not Agent.objects.exists()


def test_an_admin_adds_a_key_sees_only_its_last_four_and_deletes_it(alpha: TenantSetup) -> None:
    browser = alpha.signed_in(alpha.admin_email)
    saved = browser.post("/agents/provider-keys/", {"provider": "openai", "api_key": SECRET_KEY})
    page = browser.get("/agents/provider-keys/").content.decode()

    assert saved.status_code == 302
    assert "77aa" in page and "SECRETVALUE" not in page
    assert browser.post("/agents/new/", form_data(llm_provider="openai", llm_model="gpt-4.1-mini")).status_code == 302
    refused = browser.post("/agents/provider-keys/openai/delete/", follow=True)
    assert "Reception" in refused.content.decode()  # in use: not deleted
    with tenant_context(alpha.tenant):
        assert ProviderCredential.objects.filter(provider="openai").exists()
        services.agent_delete(agent=Agent.objects.get(name="Reception"))
    connection.set_schema_to_public()
    browser.post("/agents/provider-keys/openai/delete/")
    with tenant_context(alpha.tenant):
        assert not ProviderCredential.objects.exists()


def test_an_incomplete_azure_key_shows_its_fields(alpha: TenantSetup) -> None:
    response = alpha.signed_in(alpha.admin_email).post(
        "/agents/provider-keys/", {"provider": "azure", "api_key": "azure-key-123456"}
    )
    assert response.status_code == 400 and response.content.decode().count("Azure OpenAI needs it.") == 3


def test_making_a_default_and_pointing_a_number_at_an_agent(alpha_on_twilio: TenantSetup) -> None:
    agent = make_agent(alpha_on_twilio, name="Night line")
    browser = alpha_on_twilio.signed_in(alpha_on_twilio.admin_email)
    assert browser.post(f"/agents/{agent.pk}/make-default/").status_code == 302
    given = browser.post(
        f"/inbound/numbers/{SENDER}/",
        {"agent": agent.pk, "auto_reply_window_minutes": 1440, "fallback_message": "Back soon."},
    )
    assert given.status_code == 302
    with tenant_context(alpha_on_twilio.tenant):
        assert Agent.objects.get(pk=agent.pk).is_default
        assert NumberSettings.objects.get(phone_number=SENDER).agent_id == agent.pk
    assert SENDER in browser.get("/agents/").content.decode()


def test_an_operator_reads_agents_but_changes_nothing(alpha: TenantSetup) -> None:
    agent = make_agent(alpha)
    email = "operator@alpha.test"
    with tenant_context(alpha.tenant):
        user_create(tenant=alpha.tenant, email=email, role=Role.OPERATOR, password=PASSWORD)
    connection.set_schema_to_public()
    browser = alpha.signed_in(email)

    assert browser.get("/agents/").status_code == 200
    assert browser.get(f"/agents/{agent.pk}/versions/").status_code == 200
    for path in ("/agents/new/", f"/agents/{agent.pk}/", "/agents/provider-keys/"):
        assert browser.get(path).status_code == 403, path
    assert browser.post(f"/agents/{agent.pk}/delete/").status_code == 403


def test_another_tenant_never_sees_the_agents_or_keys(alpha: TenantSetup, beta: TenantSetup) -> None:
    agent = make_agent(alpha, name="Alpha's agent")
    with tenant_context(alpha.tenant):
        services.provider_credential_save(provider="openai", api_key=SECRET_KEY)
    connection.set_schema_to_public()
    browser = beta.signed_in(beta.admin_email)

    assert "Alpha's agent" not in browser.get("/agents/").content.decode()
    assert "77aa" not in browser.get("/agents/provider-keys/").content.decode()
    for path in (f"/agents/{agent.pk}/", f"/agents/{agent.pk}/versions/"):
        assert browser.get(path).status_code == 404, path
    assert browser.post(f"/agents/{agent.pk}/delete/").status_code == 404
    assert browser.post("/agents/provider-keys/openai/delete/").status_code == 404
    with tenant_context(alpha.tenant):
        assert Agent.objects.filter(pk=agent.pk).exists() and ProviderCredential.objects.exists()


def test_an_outbound_only_agent_cannot_be_made_the_default(alpha: TenantSetup) -> None:
    agent = make_agent(alpha, name="Dialer", kind="outbound")
    browser = alpha.signed_in(alpha.admin_email)

    listed = browser.get("/agents/").content.decode()
    refused = browser.post(f"/agents/{agent.pk}/make-default/", follow=True)

    assert f"/agents/{agent.pk}/make-default/" not in listed
    assert "only places calls" in refused.content.decode()
    with tenant_context(alpha.tenant):
        assert not Agent.objects.get(pk=agent.pk).is_default
