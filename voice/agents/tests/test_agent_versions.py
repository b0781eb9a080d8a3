"""Each saved change of an agent is a new version holding the whole configuration; a version's configuration
is the agent as it was then."""

import pytest
from django_tenants.utils import tenant_context

from testsupport.tenants import TenantSetup
from voice.agents import lookup, services
from voice.agents.config import AgentConfig
from voice.agents.models import Agent, AgentVersion
from voice.agents.tests.support import make_agent

pytestmark = pytest.mark.django_db


def test_each_save_is_a_new_version_and_each_version_reproduces_the_agent_then(alpha: TenantSetup) -> None:
    agent = make_agent(alpha, greeting="Hello.", temperature=0.2)
    with tenant_context(alpha.tenant):
        as_created = agent.config()
        agent = services.agent_update(agent=agent, fields={"greeting": "Hi there."}, created_by="ann@alpha.test")
        as_changed = agent.config()
        agent = services.agent_update(
            agent=agent, fields={"temperature": 1.5, "hints": ["Bright Smiles"]}, created_by="api-key:sb_1"
        )

        versions = list(AgentVersion.objects.filter(agent=agent).order_by("number"))
        assert [(version.number, version.created_by) for version in versions] == [
            (1, "test"),
            (2, "ann@alpha.test"),
            (3, "api-key:sb_1"),
        ]
        assert agent.version == 3
        assert versions[0].agent_config() == as_created and as_created.greeting == "Hello."
        assert versions[1].agent_config() == as_changed and as_changed.greeting == "Hi there."
        assert versions[2].agent_config() == agent.config()
        assert (agent.config().temperature, agent.config().hints) == (1.5, ("Bright Smiles",))
        assert lookup.agent_config_of_version(agent_id=agent.pk, version=1) == as_created
        assert lookup.agent_config_of_version(agent_id=agent.pk, version=2).version == 2


def test_saving_without_a_change_makes_no_version_but_a_new_description_does(alpha: TenantSetup) -> None:
    agent = make_agent(alpha)
    with tenant_context(alpha.tenant):
        agent = services.agent_update(agent=agent, fields={"greeting": agent.greeting}, created_by="t")
        assert agent.version == 1
        agent = services.agent_update(agent=agent, fields={"description": "Evenings only"}, created_by="t")
        assert agent.version == 2
        assert AgentVersion.objects.get(agent=agent, number=2).config["description"] == "Evenings only"


def test_a_refused_change_leaves_the_agent_and_its_versions_as_they_were(alpha: TenantSetup) -> None:
    agent = make_agent(alpha)
    with tenant_context(alpha.tenant):
        with pytest.raises(Exception, match="max_tokens"):
            services.agent_update(agent=agent, fields={"greeting": "New", "max_tokens": 9000}, created_by="t")
        agent.refresh_from_db()
        assert (agent.greeting, agent.version, agent.versions.count()) == ("Hello, Bright Smiles dental.", 1, 1)


def test_an_old_snapshot_missing_newer_fields_still_reads(alpha: TenantSetup) -> None:
    agent = make_agent(alpha)
    with tenant_context(alpha.tenant):
        version = AgentVersion.objects.get(agent=agent, number=1)
        snapshot = dict(version.config)
        del snapshot["analysis_custom_fields"], snapshot["hints"]
        config = AgentConfig.from_snapshot(snapshot)
    assert (config.name, config.hints, config.analysis_custom_fields) == ("Front desk", (), ())


def test_an_update_and_the_default_it_asks_for_are_saved_together_or_not_at_all(alpha: TenantSetup) -> None:
    first = make_agent(alpha, name="First", make_default=True)
    second = make_agent(alpha, name="Second")
    with tenant_context(alpha.tenant):
        moved = services.agent_update(agent=second, fields={"greeting": "Hi."}, created_by="t", is_default=True)
        assert (moved.is_default, moved.version) == (True, 2)
        assert not Agent.objects.get(pk=first.pk).is_default

        with pytest.raises(services.OutboundOnlyAgent):
            services.agent_update(
                agent=first, fields={"kind": "outbound", "greeting": "New"}, created_by="t", is_default=True
            )
        unchanged = Agent.objects.get(pk=first.pk)
        assert (unchanged.kind, unchanged.greeting, unchanged.version) == ("inbound", first.greeting, 1)
        assert not AgentVersion.objects.filter(agent=first, number=2).exists()

        services.agent_update(agent=moved, fields={}, created_by="t", is_default=False)
        assert not Agent.objects.filter(is_default=True).exists()
