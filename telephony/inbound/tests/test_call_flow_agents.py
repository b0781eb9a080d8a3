"""A call flow's AI agent step: the flow's own agent takes the call, else the number's, else the tenant's
default agent, else the platform's; the API and the portal form take the agent with field errors."""

from typing import Any
from xml.etree import ElementTree

import pytest
from django_tenants.utils import tenant_context

from telephony.inbound.forms import CallFlowForm
from telephony.inbound.models import CallFlow, NumberSettings
from telephony.inbound.tests.support import call_params, token_of, twilio_post
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from voice.agents import services as agent_services
from voice.agents.models import Agent

pytestmark = pytest.mark.django_db


def an_agent(setup: TenantSetup, name: str, *, kind: str = "both", make_default: bool = False) -> Agent:
    fields = {"name": name, "kind": kind, "system_prompt": "Answer.", "llm_provider": "fake", "llm_model": "fake-model"}
    with tenant_context(setup.tenant):
        return agent_services.agent_create(fields=fields, created_by="test", make_default=make_default)


def relay_agent_id(setup: TenantSetup, *, flow: CallFlow | None, number_agent: Agent | None) -> str:
    """The agentId of the ConversationRelay Twilio gets for a call to SENDER."""
    with tenant_context(setup.tenant):
        NumberSettings.objects.update_or_create(
            phone_number=SENDER, defaults={"call_flow": flow, "agent": number_agent}
        )
    response = twilio_post(
        setup, "/webhooks/twilio/voice/", call_params(setup, to=SENDER, sid="CA" + "7" * 32), token=token_of(setup)
    )
    relay = ElementTree.fromstring(response.content).find("./Connect/ConversationRelay")
    assert relay is not None, response.content
    return {p.get("name"): p.get("value") for p in relay.iter("Parameter")}["agentId"] or ""


def agent_flow(setup: TenantSetup, agent: Agent | None) -> CallFlow:
    with tenant_context(setup.tenant):
        flow = CallFlow(name="AI desk", kind=CallFlow.Kind.AGENT, agent=agent)
        flow.full_clean()
        flow.save()
        return flow


def test_the_flows_agent_then_the_numbers_then_the_tenants_default_then_the_platforms(
    alpha_on_twilio: TenantSetup,
) -> None:
    alpha = alpha_on_twilio
    without_agent = agent_flow(alpha, None)
    assert relay_agent_id(alpha, flow=without_agent, number_agent=None) == ""  # the platform default
    default = an_agent(alpha, "Default desk", make_default=True)
    numbers = an_agent(alpha, "Number desk")
    flows = an_agent(alpha, "Flow desk")
    with_agent = agent_flow(alpha, flows)

    assert relay_agent_id(alpha, flow=with_agent, number_agent=numbers) == str(flows.pk)
    assert relay_agent_id(alpha, flow=without_agent, number_agent=numbers) == str(numbers.pk)
    assert relay_agent_id(alpha, flow=without_agent, number_agent=None) == str(default.pk)
    assert relay_agent_id(alpha, flow=None, number_agent=None) == str(default.pk)  # no flow: the default agent
    with tenant_context(alpha.tenant):
        flows.delete()  # the flow's agent gone: the number's takes the call
    assert relay_agent_id(alpha, flow=with_agent, number_agent=numbers) == str(numbers.pk)


def test_the_api_takes_a_flows_agent_and_refuses_one_that_cannot_answer(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    answering = an_agent(alpha, "Answers")
    calling = an_agent(alpha, "Calls out", kind="outbound")

    made = client.post("/api/v1/call-flows/", {"name": "AI", "kind": "agent", "agent": answering.pk}, format="json")
    outbound_only = client.post(
        "/api/v1/call-flows/", {"name": "AI", "kind": "agent", "agent": calling.pk}, format="json"
    )
    not_an_agent_step = client.post(
        "/api/v1/call-flows/", {"name": "Hi", "kind": "message", "text": "Hi.", "agent": answering.pk}, format="json"
    )

    assert made.status_code == 201 and made.json()["agent"] == answering.pk
    for refused in (outbound_only, not_an_agent_step):
        assert refused.status_code == 400 and list(refused.json()["errors"]) == ["agent"], refused.content


def test_the_portal_form_offers_only_agents_that_answer_calls(alpha: TenantSetup) -> None:
    answering = an_agent(alpha, "Answers")
    an_agent(alpha, "Calls out", kind="outbound")
    with tenant_context(alpha.tenant):
        offered: Any = CallFlowForm().fields["agent"]
        assert [agent.name for agent in offered.queryset] == ["Answers"]
        form = CallFlowForm(
            data={
                "name": "AI",
                "kind": "agent",
                "agent": answering.pk,
                "caller_id": "caller",
                "ring_seconds": 20,
                "max_recording_seconds": 120,
                "menu_seconds": 5,
            }
        )
        assert form.is_valid(), form.errors
        assert form.save().agent == answering
