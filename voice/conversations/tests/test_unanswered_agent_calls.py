"""An outbound agent call that never reaches its agent (busy, not answered, failed, cancelled) ends its
conversation with that outcome, and its analysis follows, as any other conversation's."""

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from telephony.models import Communication
from telephony.registry.models import TwilioAccount
from testsupport.tenants import TenantSetup
from voice.conversations import tasks
from voice.conversations.models import Conversation, ConversationAnalysis
from voice.conversations.outbound import AgentCall, agent_call_place
from voice.conversations.tests.results_support import agent_with_analysis

pytestmark = pytest.mark.django_db


def placed(setup: TenantSetup, phone: str = "+14155552671") -> AgentCall:
    with tenant_context(setup.tenant):
        agent = agent_with_analysis()
        call = agent_call_place(tenant=setup.tenant, agent_id=agent.pk, contact={"name": "Ann", "phone": phone})
        sid = "CA" + format(call.communication.pk, "032x")
        Communication.objects.filter(pk=call.communication.pk).update(twilio_sid=sid, status="queued")
        call.communication.refresh_from_db()
        return call


def status_callback(setup: TenantSetup, communication: Communication, status: str) -> None:
    url = f"http://{setup.host}:8000/webhooks/twilio/status/{communication.public_token}/"
    params = {"CallSid": communication.twilio_sid or "", "CallStatus": status}
    signature = RequestValidator(TwilioAccount.objects.get(tenant=setup.tenant).auth_token).compute_signature(
        url, params
    )
    response = APIClient(HTTP_HOST=setup.host).post(url.split(":8000")[1], params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("call_status", "status", "end_reason"),
    [
        ("busy", "ended", "busy"),
        ("no-answer", "ended", "no_answer"),
        ("failed", "failed", "failed"),
        ("canceled", "ended", "canceled"),
    ],
)
def test_the_calls_final_status_ends_its_conversation(
    alpha_on_twilio: TenantSetup, call_status: str, status: str, end_reason: str
) -> None:
    call = placed(alpha_on_twilio)
    status_callback(alpha_on_twilio, call.communication, "ringing")
    with tenant_context(alpha_on_twilio.tenant):
        assert Conversation.objects.get(pk=call.conversation.pk).status == "live"

    status_callback(alpha_on_twilio, call.communication, call_status)

    with tenant_context(alpha_on_twilio.tenant):
        conversation = Conversation.objects.get(pk=call.conversation.pk)
        assert (conversation.status, conversation.end_reason) == (status, end_reason)
        assert conversation.ended_at is not None and conversation.ended_at <= timezone.now()
        assert ConversationAnalysis.objects.get(conversation=conversation).status == "pending"


def test_a_conversation_whose_relay_started_is_left_to_the_relay(alpha_on_twilio: TenantSetup) -> None:
    call = placed(alpha_on_twilio)
    with tenant_context(alpha_on_twilio.tenant):
        Conversation.objects.filter(pk=call.conversation.pk).update(call_sid=call.communication.twilio_sid)
    status_callback(alpha_on_twilio, call.communication, "completed")
    with tenant_context(alpha_on_twilio.tenant):
        conversation = Conversation.objects.get(pk=call.conversation.pk)
        assert (conversation.status, conversation.end_reason) == ("live", "")


def test_the_beat_ends_the_calls_a_bulk_cancel_moved_without_a_save(alpha_on_twilio: TenantSetup) -> None:
    first, second = placed(alpha_on_twilio), placed(alpha_on_twilio, phone="+14155552672")
    with tenant_context(alpha_on_twilio.tenant):
        Communication.objects.filter(pk=first.communication.pk).update(status="canceled")  # as a campaign cancel does
        assert Conversation.objects.get(pk=first.conversation.pk).status == "live"

    assert tasks.end_unanswered_agent_calls() == 1

    with tenant_context(alpha_on_twilio.tenant):
        ended = Conversation.objects.get(pk=first.conversation.pk)
        assert (ended.status, ended.end_reason) == ("ended", "canceled")
        assert Conversation.objects.get(pk=second.conversation.pk).status == "live"  # its call is still queued
