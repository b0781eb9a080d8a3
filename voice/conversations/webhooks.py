"""Twilio's requests once a call's ConversationRelay ends: the <Connect action> callback and what follows it.

The engine writes the conversation's end (and its handoffData) before it sends `end`, so the callback reads
what to do from the conversation, never from the HandoffData parameter a request carries: a transfer dials
the agent's transfer number, the colleague first hears a whisper with the summary, and when nobody answers
the caller may leave a voicemail (recorded like the inbound flows' voicemail: the recording callback stores
it). Anything else hangs up. Signed, tenant-resolved and always answered with TwiML by
telephony.inbound.webhooks.twilio_webhook.
"""

from django.conf import settings
from django.urls import reverse
from twilio.twiml.voice_response import VoiceResponse

from telephony.inbound import flows
from telephony.inbound.webhooks import Inbound, twilio_webhook
from voice.conversations import tools
from voice.conversations.models import Conversation

CONNECTING = "Connecting you to a colleague now."
NOBODY_ANSWERED = "Sorry, nobody could take your call. Please leave a message after the tone."
NO_MESSAGE = "No message was recorded. " + flows.GOODBYE


def _url(inbound: Inbound, name: str, conversation: Conversation) -> str:
    return inbound.base_url + reverse(name, kwargs={"conversation_id": conversation.pk})


def _hang_up() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


@twilio_webhook(voice=True)
def relay_action(inbound: Inbound) -> VoiceResponse:
    conversation = Conversation.objects.filter(call_sid=inbound.params.get("CallSid", "")).first()
    handoff = conversation.handoff_data if conversation is not None else {}
    number = handoff.get("transferTo") if handoff.get("reason") == tools.TRANSFER_TO_HUMAN else None
    if conversation is None or not number:
        return _hang_up()
    response = VoiceResponse()
    response.say(CONNECTING, voice=flows.VOICE, language=flows.LANGUAGE)
    dial = response.dial(
        caller_id=conversation.agent_number or None,
        timeout=settings.CONVERSATION_TRANSFER_RING_SECONDS,
        action=_url(inbound, "conversation-relay-dialed", conversation),
        method="POST",
    )
    dial.number(number, url=_url(inbound, "conversation-relay-whisper", conversation), method="POST")
    return response


@twilio_webhook(voice=True)
def relay_whisper(inbound: Inbound, conversation_id: int) -> VoiceResponse:
    """What the colleague hears before the caller is put through."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    summary = str((conversation.handoff_data if conversation else {}).get("summary") or "")
    response = VoiceResponse()
    caller = conversation.customer_number if conversation else ""
    response.say(
        f"Transferred call from {caller or 'a caller'}. {summary}".strip(), voice=flows.VOICE, language=flows.LANGUAGE
    )
    return response


@twilio_webhook(voice=True)
def relay_dialed(inbound: Inbound, conversation_id: int) -> VoiceResponse:
    if inbound.params.get("DialCallStatus", "") in ("completed", "answered"):
        return _hang_up()
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return _hang_up()
    response = VoiceResponse()
    response.say(NOBODY_ANSWERED, voice=flows.VOICE, language=flows.LANGUAGE)
    response.record(
        max_length=settings.CONVERSATION_VOICEMAIL_SECONDS,
        play_beep=True,
        action=_url(inbound, "conversation-relay-recorded", conversation),
        method="POST",
        recording_status_callback=inbound.base_url + reverse("inbound-recording"),
        recording_status_callback_method="POST",
    )
    response.say(NO_MESSAGE, voice=flows.VOICE, language=flows.LANGUAGE)
    response.hangup()
    return response


@twilio_webhook(voice=True)
def relay_recorded(inbound: Inbound, conversation_id: int) -> VoiceResponse:
    return flows.recorded_document()
