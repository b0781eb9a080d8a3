"""The end-of-call webhook: the CallResult POSTed to the agent's URL, signed with the tenant's secret, tried again
while the URL cannot take it, never sent for a console session."""

import json

import pytest
from django_tenants.utils import tenant_context

from telephony.inbound.forwarding import ForwardFailed
from telephony.inbound.selectors import inbound_settings
from telephony.models import PlatformError
from testsupport.receiver import Receiver
from testsupport.tenants import TenantSetup
from voice.conversations import callbacks
from voice.conversations.models import Conversation, ConversationAnalysis
from voice.conversations.tasks import send_end_of_call_webhook
from voice.conversations.tests.results_support import (
    agent_with_analysis,
    finished_conversation,
    signature_valid,
)

pytestmark = pytest.mark.django_db


def analysed(conversation: Conversation) -> None:
    ConversationAnalysis.objects.create(
        conversation=conversation,
        status=ConversationAnalysis.Status.DONE,
        rating=2,
        sentiment="negative",
        categories=["billing"],
        transfer_requested=True,
        summary="Charged twice for order 4411; asked for a person.",
        custom_fields={"order_number": "4411", "callback_wanted": False},
        attempts=1,
    )


def test_the_result_is_posted_signed_with_the_tenants_secret(alpha: TenantSetup, receiver: Receiver) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis(webhook_url=receiver.url))
        analysed(conversation)
        status = callbacks.end_of_call_webhook_send(conversation_id=conversation.pk)
        secret = inbound_settings().forward_signing_secret

    assert status == 200
    ((headers, body),) = receiver.received
    assert headers["Content-Type"] == "application/json"
    assert signature_valid(secret=secret, headers=headers, body=body)
    assert not signature_valid(secret=secret + "x", headers=headers, body=body)
    assert not signature_valid(secret=secret, headers=headers, body=body.replace(b"4411", b"4412"))
    result = json.loads(body)
    assert result["tenantId"] == "alpha" and result["callId"] == conversation.pk
    assert result["callSid"] == conversation.call_sid and result["status"] == "ended"
    assert result["conversation"]["analysis"]["sentiment"] == "negative"
    assert result["conversation"]["analysis"]["customFields"] == {"order_number": "4411", "callback_wanted": False}
    assert [turn["role"] for turn in result["conversation"]["transcript"]] == ["assistant", "user", "assistant", "user"]
    assert result["metadata"]["endReason"] == "transferred" and result["metadata"]["duration"] == 95


@pytest.mark.parametrize("receiver", [[503, 429, 502]], indirect=True)
def test_a_url_that_cannot_take_it_now_gets_the_same_result_again_until_it_does(
    alpha: TenantSetup, receiver: Receiver
) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis(webhook_url=receiver.url))
        analysed(conversation)
        outcome = send_end_of_call_webhook.apply(kwargs={"conversation_id": conversation.pk})

    assert outcome.get() == 200
    assert len(receiver.received) == 4  # three refusals for now, then taken
    assert len({body for _, body in receiver.received}) == 1


def test_the_retries_back_off_and_are_bounded() -> None:
    assert send_end_of_call_webhook.autoretry_for == (ForwardFailed,)
    assert send_end_of_call_webhook.retry_backoff and send_end_of_call_webhook.max_retries == 10


@pytest.mark.parametrize("receiver", [[404]], indirect=True)
def test_a_url_that_refuses_it_for_good_is_not_asked_again_and_the_tenant_sees_why(
    alpha: TenantSetup, receiver: Receiver
) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis(webhook_url=receiver.url))
        send_end_of_call_webhook.apply(kwargs={"conversation_id": conversation.pk})
        errors = list(PlatformError.objects.values_list("source", "message"))

    assert len(receiver.received) == 1
    assert errors == [("end-of-call webhook", f"{receiver.url} refused the result of call {conversation.pk}: 404")]


def test_an_unreachable_url_is_left_for_the_task_to_try_again(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis(webhook_url="http://127.0.0.1:1/ended"))
        with pytest.raises(ForwardFailed):
            callbacks.end_of_call_webhook_send(conversation_id=conversation.pk)


def test_nothing_is_sent_without_a_url_or_for_a_console_session(alpha: TenantSetup, receiver: Receiver) -> None:
    with tenant_context(alpha.tenant):
        without_url = finished_conversation(agent_with_analysis(name="Quiet"))
        console = finished_conversation(agent_with_analysis(webhook_url=receiver.url), call_sid="")
        Conversation.objects.filter(pk=console.pk).update(direction=Conversation.Direction.CONSOLE)
        sent = [callbacks.end_of_call_webhook_send(conversation_id=c.pk) for c in (without_url, console)]

    assert sent == [None, None]
    assert receiver.received == []


def test_each_tenant_signs_with_its_own_secret(alpha: TenantSetup, beta: TenantSetup, receiver: Receiver) -> None:
    secrets = []
    for setup in (alpha, beta):
        with tenant_context(setup.tenant):
            conversation = finished_conversation(agent_with_analysis(webhook_url=receiver.url))
            callbacks.end_of_call_webhook_send(conversation_id=conversation.pk)
            secrets.append(inbound_settings().forward_signing_secret)

    (alpha_headers, alpha_body), (beta_headers, beta_body) = receiver.received
    assert secrets[0] != secrets[1]
    assert signature_valid(secret=secrets[0], headers=alpha_headers, body=alpha_body)
    assert not signature_valid(secret=secrets[1], headers=alpha_headers, body=alpha_body)
    assert signature_valid(secret=secrets[1], headers=beta_headers, body=beta_body)
    assert json.loads(alpha_body)["tenantId"] == "alpha" and json.loads(beta_body)["tenantId"] == "beta"


def test_the_webhook_task_sends_only_what_belongs_to_the_tenant_that_queued_it(
    alpha: TenantSetup, beta: TenantSetup, receiver: Receiver
) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis(webhook_url=receiver.url))
    with tenant_context(beta.tenant):
        in_beta = send_end_of_call_webhook.apply(kwargs={"conversation_id": conversation.pk}).get()

    assert in_beta is None and receiver.received == []
