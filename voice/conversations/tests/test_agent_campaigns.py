"""POST /api/v1/agents/{id}/campaigns/: a campaign whose calls an agent makes, one conversation per contact."""

from xml.etree import ElementTree

import pytest
from django_tenants.utils import tenant_context

from telephony import delivery
from telephony.models import Campaign, Communication
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER, SandboxLog
from voice.conversations.models import Conversation
from voice.conversations.tests.results_support import agent_with_analysis

pytestmark = pytest.mark.django_db

CONTACTS = [
    {"name": "Ann Lee", "phone": "+14155552601", "variables": {"due": "Friday"}},
    {"name": "Bo Park", "phone": "+14155552602", "email": "bo@example.com"},
    {"name": "Abroad", "phone": "+442071838750"},
    {"name": "Ann again", "phone": "+1 415 555 2601"},
]


@pytest.fixture(autouse=True)
def no_rate_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "take_slot", lambda **_: 0.0)


def test_the_agent_calls_each_contact_once_and_the_rest_are_kept_with_their_reason(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog
) -> None:
    tenant = alpha_on_twilio.tenant
    tenant.allowed_countries = ["US"]
    tenant.save()
    with tenant_context(alpha_on_twilio.tenant):
        agent = agent_with_analysis()
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    accepted = client.post(
        f"/api/v1/agents/{agent.pk}/campaigns/", {"name": "Reminders", "contacts": CONTACTS}, format="json"
    )

    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
    assert (body["name"], body["channel"], body["status"], body["from"]) == ("Reminders", "call", "running", SENDER)
    assert [(row["row"], row["to"]) for row in body["invalid_rows"]] == [(3, "+442071838750"), (4, "+14155552601")]
    assert body["progress"]["total"] == 2
    with tenant_context(alpha_on_twilio.tenant):
        conversations = {c.customer_number: c for c in Conversation.objects.all()}
        calls = list(Communication.objects.filter(campaign_id=body["id"]).select_related("twiml_document"))
        delivery.deliver_group(communication_ids=[call.pk for call in calls], follow_up=lambda *_: None)
        placed_sids = set(Communication.objects.filter(campaign_id=body["id"]).values_list("twilio_sid", flat=True))
        assert Campaign.objects.get(pk=body["id"]).channel == "call"
    assert sorted(conversations) == ["+14155552601", "+14155552602"]
    assert conversations["+14155552601"].contact["variables"] == {"due": "Friday"}
    assert all(c.direction == "outbound" and c.agent_id == agent.pk for c in conversations.values())
    for call in calls:
        assert call.twiml_document is not None
        relay = ElementTree.fromstring(call.twiml_document.xml).find("./Connect/ConversationRelay")
        assert relay is not None
        parameters = {p.get("name"): p.get("value") for p in relay.findall("Parameter")}
        assert parameters["conversation_id"] == str(conversations[call.to_number].pk)
    placed = [item for item in sandbox_log.items("calls") if item["to"] in conversations]
    assert sorted(item["to"] for item in placed) == ["+14155552601", "+14155552602"]
    assert {item["sid"] for item in placed} == placed_sids


def test_bad_campaigns_are_refused_by_field(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        agent = agent_with_analysis()
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    empty = client.post(f"/api/v1/agents/{agent.pk}/campaigns/", {"name": "None", "contacts": []}, format="json")
    both = client.post(
        f"/api/v1/agents/{agent.pk}/campaigns/",
        {"name": "Both", "contacts": CONTACTS[:1], "from": SENDER, "senders": [SENDER]},
        format="json",
    )
    bad_phone = client.post(
        f"/api/v1/agents/{agent.pk}/campaigns/", {"name": "Bad", "contacts": [{"phone": "12"}]}, format="json"
    )

    assert empty.status_code == 400 and "contacts" in empty.json()["errors"]
    assert both.status_code == 400 and "senders" in both.json()["errors"]
    assert bad_phone.status_code == 400 and "phone" in bad_phone.json()["errors"]["contacts"]["0"]
    with tenant_context(alpha_on_twilio.tenant):
        assert not Campaign.objects.exists() and not Conversation.objects.exists()


def test_another_tenant_cannot_run_a_campaign_with_an_agent_of_alphas(
    alpha_on_twilio: TenantSetup, beta: TenantSetup
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        agent = agent_with_analysis()

    refused = beta.client(beta.admin_key).post(
        f"/api/v1/agents/{agent.pk}/campaigns/", {"name": "Theirs", "contacts": CONTACTS[:1]}, format="json"
    )

    assert refused.status_code == 404
    for setup in (alpha_on_twilio, beta):
        with tenant_context(setup.tenant):
            assert not Campaign.objects.exists() and not Conversation.objects.exists()
