"""The end-of-call webhook: the CallResult, as GET /api/v1/calls/{id}/result/ answers it, POSTed to the URL of
the agent version the call ran, signed like the SMS forwarding (telephony.inbound.forwarding: header
`X-Switchboard-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the tenant's signing secret,
the one GET /api/v1/inbound-settings/ shows). The task tries again with backoff while the URL cannot take it."""

from telephony.inbound.forwarding import signed_json_post
from telephony.inbound.selectors import inbound_settings
from telephony.records import platform_error_record
from voice.conversations.models import Conversation
from voice.conversations.selectors import agent_config_of, call_result
from voice.conversations.serializers import CallResultSerializer


def end_of_call_url(conversation: Conversation) -> str:
    """Where the result goes: the URL of the agent version the call ran; none for a portal console session."""
    if conversation.direction == Conversation.Direction.CONSOLE:
        return ""
    return agent_config_of(conversation).end_of_call_webhook_url


def end_of_call_webhook_send(*, conversation_id: int) -> int | None:
    """POSTs the conversation's result; returns the status the URL answered (None: no URL, or no such
    conversation here). Raises ForwardFailed while the URL cannot take it (unreachable, 5xx, 429), for the task to try again;
    a refusal (4xx) is kept among the tenant's platform errors and not tried again."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    url = end_of_call_url(conversation) if conversation is not None else ""
    if conversation is None or not url:
        return None
    payload = CallResultSerializer(call_result(conversation)).data
    status = signed_json_post(url=url, payload=payload, secret=inbound_settings().forward_signing_secret)
    if status >= 400:
        platform_error_record(
            source="end-of-call webhook",
            message=f"{url} refused the result of call {conversation_id}: {status}",
            conversation_id=conversation_id,
        )
    return status
