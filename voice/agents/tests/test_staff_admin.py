"""Staff see each tenant's agents, versions and which keys it holds, read-only; never a key itself."""

import pytest
from django_tenants.utils import tenant_context

from telephony.inbound.tests.test_staff_admin import staff_browser
from testsupport.tenants import TenantSetup
from voice.agents import services
from voice.agents.models import Agent, ProviderCredential
from voice.agents.tests.support import make_agent

pytestmark = pytest.mark.django_db


def test_staff_see_a_tenants_agents_and_key_ends_but_change_nothing(alpha: TenantSetup, beta: TenantSetup) -> None:
    agent = make_agent(alpha, name="Alpha desk")
    with tenant_context(alpha.tenant):
        credential = services.provider_credential_save(provider="openai", api_key="sk-admin-SECRETPART-42ab")
    browser = staff_browser()

    agents = browser.get("/admin/agents/agent/", {"tenant": "alpha"}).content.decode()
    one = browser.get(f"/admin/agents/agent/{agent.pk}/change/").content.decode()
    versions = browser.get("/admin/agents/agentversion/").content.decode()
    keys = browser.get("/admin/agents/providercredential/").content.decode()
    key = browser.get(f"/admin/agents/providercredential/{credential.pk}/change/").content.decode()
    betas = browser.get("/admin/agents/agent/", {"tenant": "beta"}).content.decode()

    assert "Alpha desk" in agents and "Bright Smiles" in one and "Alpha desk" in versions
    assert "42ab" in keys and "SECRETPART" not in keys + key
    assert "Alpha desk" not in betas
    browser.get("/admin/agents/agent/", {"tenant": "alpha"})
    assert browser.post(f"/admin/agents/agent/{agent.pk}/change/", {"name": "Mallory"}).status_code == 403
    with tenant_context(alpha.tenant):
        assert Agent.objects.get(pk=agent.pk).name == "Alpha desk" and ProviderCredential.objects.count() == 1
