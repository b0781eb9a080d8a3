"""POST /api/v1/agents/{id}/calls/: an agent calls a contact, through the outbound path every call takes
(policies, Idempotency-Key, delivery at most once to the sandbox), answered by the agent's ConversationRelay."""

from typing import Any
from xml.etree import ElementTree

import pytest
from django_tenants.utils import tenant_context

from telephony import delivery
from telephony.models import Communication
from tenants.accounts.roles import Role
from tenants.services import api_key_create, user_create
from testsupport.tenants import PASSWORD, TenantSetup
from testsupport.twilio import SENDER, SandboxLog
from voice.agents.models import Agent
from voice.conversations.models import Conversation
from voice.conversations.tests.results_support import agent_with_analysis

pytestmark = pytest.mark.django_db

CONTACT = {
    "name": "Ann Lee",
    "phone": "+1 415 555 2671",
    "email": "ann@example.com",
    "variables": {"appointment": "Tuesday 10:00", "dentist": "Dr. Roe"},
}


@pytest.fixture(autouse=True)
def no_rate_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "take_slot", lambda **_: 0.0)


def an_agent(setup: TenantSetup, *, kind: str = Agent.Kind.BOTH) -> Agent:
    with tenant_context(setup.tenant):
        return agent_with_analysis(kind=kind)


def relay_parameters(xml: str) -> dict[str, str]:
    relay = ElementTree.fromstring(xml).find("./Connect/ConversationRelay")
    assert relay is not None, xml
    return {parameter.get("name", ""): parameter.get("value", "") for parameter in relay.findall("Parameter")}


def test_the_call_is_placed_once_with_the_agents_relay_and_the_contact(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog
) -> None:
    agent = an_agent(alpha_on_twilio)
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    first = client.post(
        f"/api/v1/agents/{agent.pk}/calls/", {"contact": CONTACT}, format="json", HTTP_IDEMPOTENCY_KEY="remind-ann"
    )
    again = client.post(
        f"/api/v1/agents/{agent.pk}/calls/", {"contact": CONTACT}, format="json", HTTP_IDEMPOTENCY_KEY="remind-ann"
    )

    assert first.status_code == 202, first.content
    assert again.status_code == 202 and again.json() == first.json()
    accepted = first.json()
    assert (accepted["to"], accepted["from"], accepted["status"]) == ("+14155552671", SENDER, "pending")
    assert (accepted["agentId"], accepted["agentVersion"]) == (agent.pk, 1)
    with tenant_context(alpha_on_twilio.tenant):
        (conversation,) = Conversation.objects.all()
        (call,) = Communication.objects.filter(channel="call")
        verdicts = [delivery.deliver(communication_id=call.pk) for _ in range(2)]  # a duplicate task does nothing
        call.refresh_from_db()
        assert call.twiml_document is not None
        xml = call.twiml_document.xml
    assert accepted["callId"] == conversation.pk and accepted["communicationId"] == call.pk
    assert (conversation.direction, conversation.status, conversation.agent_id) == ("outbound", "live", agent.pk)
    assert (conversation.customer_number, conversation.agent_number) == ("+14155552671", SENDER)
    assert conversation.contact == {**CONTACT, "phone": "+14155552671"}
    assert [verdict.done for verdict in verdicts] == [True, True]
    placed = [item for item in sandbox_log.items("calls") if item["to"] == "+14155552671"]
    assert [item["sid"] for item in placed] == [call.twilio_sid]
    assert placed[0]["from"] == SENDER and placed[0]["url"].endswith(f"/twiml/{call.twiml_document.public_token}/")
    parameters = relay_parameters(xml)
    assert parameters["conversation_id"] == str(conversation.pk) and parameters["direction"] == "outbound"
    assert (parameters["agentId"], parameters["agentVersion"]) == (str(agent.pk), "1")
    assert (parameters["contact_name"], parameters["contact_email"], parameters["var_appointment"]) == (
        "Ann Lee",
        "ann@example.com",
        "Tuesday 10:00",
    )


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"contact": {"name": "No number"}}, "phone"),
        ({"contact": {"phone": "12"}}, "phone"),
        ({"contact": {**CONTACT, "email": "not-an-address"}}, "email"),
        ({"contact": {**CONTACT, "variables": {"bad name": "x"}}}, "variables"),
        ({}, None),
    ],
)
def test_bad_contact_details_are_refused_by_field_and_nothing_is_placed(
    alpha_on_twilio: TenantSetup, payload: dict, field: str | None
) -> None:
    agent = an_agent(alpha_on_twilio)

    refused = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        f"/api/v1/agents/{agent.pk}/calls/", payload, format="json"
    )

    assert refused.status_code == 400 and refused["Content-Type"] == "application/problem+json"
    errors = refused.json()["errors"]["contact"]
    assert field is None or field in errors, errors
    with tenant_context(alpha_on_twilio.tenant):
        assert not Conversation.objects.exists() and not Communication.objects.exists()


def test_an_agent_that_only_answers_calls_does_not_place_them(alpha_on_twilio: TenantSetup) -> None:
    agent = an_agent(alpha_on_twilio, kind=Agent.Kind.INBOUND)

    refused = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        f"/api/v1/agents/{agent.pk}/calls/", {"contact": CONTACT}, format="json"
    )

    assert refused.status_code == 409 and refused.json()["type"].endswith(":agent-inbound-only")


def test_the_call_policies_apply(alpha_on_twilio: TenantSetup) -> None:
    agent = an_agent(alpha_on_twilio)
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    tenant = alpha_on_twilio.tenant
    tenant.max_calls_per_day, tenant.allowed_countries = 1, ["US"]
    tenant.save()

    def place(**payload: object) -> Any:
        return client.post(f"/api/v1/agents/{agent.pk}/calls/", {"contact": CONTACT, **payload}, format="json")

    unknown_sender = place(**{"from": "+14155550999"})
    abroad = place(contact={**CONTACT, "phone": "+442071838750"})
    statuses = [place().status_code, place().status_code]

    assert unknown_sender.status_code == 422 and "from" in unknown_sender.json()["errors"]
    assert abroad.status_code == 403 and "contact.phone" in abroad.json()["errors"]
    assert statuses == [202, 429]  # an agent's calls count against the daily limit like any other
    with tenant_context(alpha_on_twilio.tenant):
        assert Conversation.objects.count() == 1 and Communication.objects.count() == 1


def test_a_viewer_cannot_place_calls(alpha_on_twilio: TenantSetup) -> None:
    agent = an_agent(alpha_on_twilio)
    with tenant_context(alpha_on_twilio.tenant):
        _, key = api_key_create(tenant=alpha_on_twilio.tenant, name="read only", role=Role.VIEWER)

    refused = alpha_on_twilio.client(key).post(f"/api/v1/agents/{agent.pk}/calls/", {"contact": CONTACT}, format="json")

    assert refused.status_code == 403


def test_another_tenant_cannot_place_calls_with_an_agent_of_alphas(
    alpha_on_twilio: TenantSetup, beta: TenantSetup
) -> None:
    agent = an_agent(alpha_on_twilio)

    from_beta = beta.client(beta.admin_key).post(
        f"/api/v1/agents/{agent.pk}/calls/", {"contact": CONTACT}, format="json"
    )
    alphas_key_on_beta = beta.client(alpha_on_twilio.admin_key).post(
        f"/api/v1/agents/{agent.pk}/calls/", {"contact": CONTACT}, format="json"
    )
    missing = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        f"/api/v1/agents/{agent.pk + 1000}/calls/", {"contact": CONTACT}, format="json"
    )

    assert from_beta.status_code == 404 and from_beta.json()["type"].endswith(":agent-not-found")
    assert alphas_key_on_beta.status_code in (401, 403)
    assert missing.status_code == 404
    for setup in (alpha_on_twilio, beta):
        with tenant_context(setup.tenant):
            assert not Conversation.objects.exists() and not Communication.objects.exists()


def test_an_operator_has_an_agent_call_a_contact_from_the_portal(alpha_on_twilio: TenantSetup) -> None:
    agent = an_agent(alpha_on_twilio)
    inbound_only = an_agent(alpha_on_twilio, kind=Agent.Kind.INBOUND)
    tenant = alpha_on_twilio.tenant
    tenant.allowed_countries = ["US"]
    tenant.save()
    browser = alpha_on_twilio.signed_in()

    form = browser.get("/ai-conversations/call/").content.decode()
    abroad = browser.post("/ai-conversations/call/", {"agent": agent.pk, "phone": "+442071838750"})
    placed = browser.post(
        "/ai-conversations/call/",
        {"agent": agent.pk, "name": "Ann Lee", "phone": "+1 415 555 2671", "variables": "due=Friday"},
    )

    assert f'value="{agent.pk}"' in form and f'value="{inbound_only.pk}"' not in form
    assert abroad.status_code == 400 and "Destination country GB is not allowed" in abroad.content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        (conversation,) = Conversation.objects.all()
        assert Communication.objects.filter(channel="call").count() == 1
    assert placed.status_code == 302 and placed["Location"].startswith(f"/ai-conversations/{conversation.pk}/")
    assert conversation.contact == {
        "name": "Ann Lee",
        "phone": "+14155552671",
        "email": "",
        "variables": {"due": "Friday"},
    }


def test_a_viewer_cannot_place_calls_from_the_portal(alpha_on_twilio: TenantSetup) -> None:
    agent = an_agent(alpha_on_twilio)
    with tenant_context(alpha_on_twilio.tenant):
        user_create(tenant=alpha_on_twilio.tenant, email="viewer@alpha.test", role=Role.VIEWER, password=PASSWORD)
    browser = alpha_on_twilio.signed_in("viewer@alpha.test")

    listing = browser.get("/ai-conversations/").content.decode()
    refused = browser.post("/ai-conversations/call/", {"agent": agent.pk, "phone": "+14155552671"})

    assert "/ai-conversations/call/" not in listing and refused.status_code == 403
    with tenant_context(alpha_on_twilio.tenant):
        assert not Conversation.objects.exists()


def test_another_tenants_portal_cannot_call_with_an_agent_of_alphas(
    alpha_on_twilio: TenantSetup, beta: TenantSetup
) -> None:
    agent = an_agent(alpha_on_twilio)

    refused = beta.signed_in().post("/ai-conversations/call/", {"agent": agent.pk, "phone": "+14155552671"})

    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    for setup in (alpha_on_twilio, beta):
        with tenant_context(setup.tenant):
            assert not Conversation.objects.exists()
