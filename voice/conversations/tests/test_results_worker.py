"""Through a real Celery worker, on committed data: a finished conversation is analysed with the fake LLM and its
signed result reaches the tenant's URL; an outbound AI call goes through the worker to the sandbox, which fetches
the agent's ConversationRelay from the real web server."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from sandbox.llm import FakeLLMServer
from telephony.inbound.selectors import inbound_settings
from tenants.db import connection
from testsupport.processes import PlatformProcesses, eventually
from testsupport.receiver import Receiver
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER, SandboxLog
from voice.agents.models import Agent
from voice.conversations import results
from voice.conversations.models import Conversation, ConversationAnalysis
from voice.conversations.tests.results_support import (
    agent_with_analysis,
    finished_conversation,
    signature_valid,
)
from voice.models import TwimlDocument

pytestmark = pytest.mark.worker


@pytest.fixture
def committed_agents(committed_alpha: TenantSetup, django_db_blocker: DjangoDbBlocker) -> Iterator[TenantSetup]:
    """committed_alpha, with its agents, conversations and call documents deleted after the test as well."""
    yield committed_alpha
    with django_db_blocker.unblock(), tenant_context(committed_alpha.tenant):
        Conversation.objects.all().delete()
        Agent.objects.all().delete()
        TwimlDocument.objects.filter(variables__has_key="conversation_id").delete()
    connection.set_schema_to_public()


@pytest.mark.parametrize("receiver", [[503]], indirect=True)  # the tenant's URL cannot take the first try
def test_a_finished_call_is_analysed_by_a_worker_and_its_signed_result_posted(
    fake_llm_server: FakeLLMServer,
    committed_agents: TenantSetup,
    platform_processes: PlatformProcesses,
    receiver: Receiver,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    with django_db_blocker.unblock(), tenant_context(committed_agents.tenant):
        conversation = finished_conversation(agent_with_analysis(webhook_url=receiver.url))
        secret = inbound_settings().forward_signing_secret
        results.conversation_finished(conversation=conversation)

        received = eventually(
            lambda: receiver.received if len(receiver.received) >= 2 else None,
            "the end-of-call webhook, tried again after a 503",
            platform_processes,
        )
        analysis = ConversationAnalysis.objects.get(conversation=conversation)
    connection.set_schema_to_public()

    assert analysis.status == ConversationAnalysis.Status.DONE and analysis.attempts == 1
    (_, first), (headers, body) = received
    assert first == body and signature_valid(secret=secret, headers=headers, body=body)
    result: dict[str, Any] = json.loads(body)
    assert result["callId"] == conversation.pk and result["conversation"]["analysis"]["status"] == "done"
    assert result["conversation"]["analysis"]["rating"] == analysis.rating


def test_an_outbound_ai_call_is_placed_by_a_worker_and_answered_with_the_agents_relay(
    committed_agents: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    with django_db_blocker.unblock():
        with tenant_context(committed_agents.tenant):
            agent = agent_with_analysis()
        connection.set_schema_to_public()
        accepted = committed_agents.client(committed_agents.admin_key).post(
            f"/api/v1/agents/{agent.pk}/calls/",
            {"contact": {"name": "Ann Lee", "phone": "+14155552688", "variables": {"due": "Friday"}}},
            format="json",
            HTTP_IDEMPOTENCY_KEY="worker-ai-call",
        )
        assert accepted.status_code == 202, accepted.content

        fetched = eventually(
            lambda: [
                item
                for item in sandbox_log.items("callbacks")
                if item.get("kind") == "twiml_fetch" and item["params"].get("To") == "+14155552688"
            ],
            "the sandbox fetching the call's TwiML when answered",
            platform_processes,
        )
        connection.set_schema_to_public()

    placed = [item for item in sandbox_log.items("calls") if item["to"] == "+14155552688"]
    assert len(placed) == 1 and placed[0]["from"] == SENDER
    assert [item["status"] for item in fetched] == [200]
    twiml = placed[0]["twiml"]
    assert "<Connect" in twiml and "<ConversationRelay" in twiml
    assert f'<Parameter name="conversation_id" value="{accepted.json()["callId"]}"' in twiml
    assert '<Parameter name="var_due" value="Friday"' in twiml
