"""The TwiML that hands a call to its AI agent: <Connect action=...><ConversationRelay url="wss://..."/></Connect>.

Twilio opens the WebSocket on the tenant's own host (its primary domain, from configuration, never from a
request's Host header): the socket finds its tenant from that host, and Twilio signs the upgrade over this
exact URL. The call's context travels in <Parameter>s and comes back in the socket's `setup` message; it
never carries a secret (Twilio shows the TwiML in its console and logs).
"""

from django.conf import settings
from django.urls import reverse
from twilio.twiml.voice_response import VoiceResponse

from tenants.hosts import tenant_base_url
from tenants.models import Tenant
from voice.agents.config import AgentConfig

# Parameters the engine reads back from `setup` (customParameters); the others are the caller's context.
AGENT_ID = "agentId"
AGENT_VERSION = "agentVersion"
DIRECTION = "direction"
# Outbound calls: the conversation voice.conversations.outbound made, and the contact it calls (the prompt's).
CONVERSATION_CONTEXT = "conversation_id"
CONTACT_PREFIX = "contact_"
VARIABLE_PREFIX = "var_"


def relay_socket_url(host: str) -> str:
    """ws(s)://{host name}[:relay port]/path (`host` may carry the web port: it is dropped): where Twilio connects the call's ConversationRelay, and the URL it signs."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # the web server's port is not the socket's
    port = f":{settings.CONVERSATION_RELAY_PORT}" if settings.CONVERSATION_RELAY_PORT else ""
    return f"{settings.CONVERSATION_RELAY_SCHEME}://{name}{port}{settings.CONVERSATION_RELAY_PATH}"


def relay_action_path() -> str:
    """Where Twilio posts when the relay ends (the action callback: transfer, voicemail)."""
    return reverse("conversation-relay-action", urlconf="config.urls_tenants")


def relay_document_for(
    *,
    tenant: Tenant,
    config: AgentConfig,
    context: dict[str, str],
    base_url: str | None = None,
    start_recording: bool | None = None,
) -> VoiceResponse:
    """The tenant's call handed to `config`'s agent: the socket and the action callback on the tenant's own host
    (even when Twilio reached us on the public one: the socket finds its tenant by host). `base_url`: the
    tenant's, when the caller has it already (a campaign's thousands of calls). `start_recording` (default: the
    agent's recording setting): the TwiML starts the call's recording; False for a call placed recording."""
    base_url = base_url or tenant_base_url(tenant)
    record = config.recording if start_recording is None else start_recording
    return relay_document(
        config=config,
        host=base_url.split("://", 1)[1],
        context=context,
        action_url=base_url + relay_action_path(),
        recording_callback_url=base_url + reverse("inbound-recording", urlconf="config.urls_tenants") if record else "",
    )


def relay_document(
    *, config: AgentConfig, host: str, context: dict[str, str], action_url: str, recording_callback_url: str = ""
) -> VoiceResponse:
    """The call's TwiML: the agent's voice, language and interruption settings, and the call's context; with a
    `recording_callback_url`, the whole call (both sides) is recorded first, its recording posted there."""
    response = VoiceResponse()
    if recording_callback_url:
        response.start().recording(
            recording_status_callback=recording_callback_url,
            recording_status_callback_method="POST",
            recording_status_callback_event="completed",
            track="both",
        )
    connect = response.connect(action=action_url, method="POST")
    attributes: dict[str, str] = {
        "url": relay_socket_url(host),
        "language": config.language,
        "tts_provider": config.tts_provider,
        "voice": config.voice,
        "transcription_provider": config.transcription_provider,
        "speech_model": config.speech_model,
        "interruptible": config.interruptible,
        "interrupt_sensitivity": config.interrupt_sensitivity,
        "dtmf_detection": _flag(config.dtmf_detection),
    }
    if config.greeting.strip():
        attributes["welcome_greeting"] = config.greeting.strip()
        attributes["welcome_greeting_interruptible"] = "any" if config.greeting_interruptible else "none"
    if config.hints:
        attributes["hints"] = ",".join(config.hints)
    relay = connect.conversation_relay(**attributes)
    for language in config.languages:
        if language != config.language:
            relay.language(
                code=language, tts_provider=config.tts_provider, transcription_provider=config.transcription_provider
            )
    parameters = {
        **context,
        AGENT_ID: "" if config.agent_id is None else str(config.agent_id),
        AGENT_VERSION: str(config.version),
    }
    for name, value in parameters.items():
        relay.parameter(name=name, value=value)
    return response


def _flag(value: bool) -> str:
    return "true" if value else "false"
