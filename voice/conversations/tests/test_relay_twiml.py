"""The TwiML that hands a call to its agent, built with twilio-python's VoiceResponse."""

import xml.etree.ElementTree as ElementTree
from dataclasses import replace

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context

from telephony.inbound import flows
from telephony.inbound.selectors import inbound_settings
from telephony.registry.models import TwilioAccount
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from voice.agents.config import platform_default_config
from voice.agents.lookup import agent_config_for_agent
from voice.agents.models import Agent
from voice.agents.services import agent_create, provider_credential_save
from voice.conversations.outbound import agent_call_place
from voice.conversations.relay import relay_document, relay_document_for, relay_socket_url

OPENAI_KEY = "sk-proj-TENANTSECRET-0123456789abcdef"


@override_settings(CONVERSATION_RELAY_SCHEME="wss", CONVERSATION_RELAY_PORT=0)
def test_the_relay_carries_the_agents_voice_and_the_calls_context_but_no_secret() -> None:
    config = replace(
        platform_default_config(),
        agent_id=7,
        version=3,
        greeting="Hi, Acme here.",
        greeting_interruptible=False,
        language="en-US",
        languages=("en-US", "de-DE"),
        tts_provider="ElevenLabs",
        voice="UgBBYS2sOqTuMpoF3BR0",
        transcription_provider="Deepgram",
        speech_model="nova-3-general",
        hints=("Acme", "crown"),
        interruptible="speech",
        dtmf_detection=True,
    )
    document = relay_document(
        config=config,
        host="acme.example.com:8000",
        context={"direction": "inbound", "caller_number": "+14155559876"},
        action_url="https://acme.example.com/webhooks/twilio/conversation-relay/",
    )

    root = ElementTree.fromstring(document.to_xml())
    connect = root.find("Connect")
    assert (
        connect is not None and connect.get("action") == "https://acme.example.com/webhooks/twilio/conversation-relay/"
    )
    relay = connect.find("ConversationRelay")
    assert relay is not None
    assert relay.attrib == {
        "url": "wss://acme.example.com/ws/conversation-relay/",
        "language": "en-US",
        "ttsProvider": "ElevenLabs",
        "voice": "UgBBYS2sOqTuMpoF3BR0",
        "transcriptionProvider": "Deepgram",
        "speechModel": "nova-3-general",
        "interruptible": "speech",
        "interruptSensitivity": "medium",
        "dtmfDetection": "true",
        "welcomeGreeting": "Hi, Acme here.",
        "welcomeGreetingInterruptible": "none",
        "hints": "Acme,crown",
    }
    assert [language.get("code") for language in relay.iter("Language")] == ["de-DE"]
    parameters = {p.get("name"): p.get("value") for p in relay.iter("Parameter")}
    assert parameters == {"direction": "inbound", "caller_number": "+14155559876", "agentId": "7", "agentVersion": "3"}
    assert "key" not in document.to_xml().lower()


@pytest.mark.parametrize(
    ("scheme", "port", "host", "url"),
    [
        ("wss", 0, "acme.example.com", "wss://acme.example.com/ws/conversation-relay/"),
        ("ws", 8001, "acme.localhost:8000", "ws://acme.localhost:8001/ws/conversation-relay/"),
    ],
)
def test_the_socket_url_is_the_tenant_host_on_the_relay_port(scheme: str, port: int, host: str, url: str) -> None:
    with override_settings(CONVERSATION_RELAY_SCHEME=scheme, CONVERSATION_RELAY_PORT=port):
        assert relay_socket_url(host) == url


@pytest.mark.django_db
def test_neither_the_inbound_nor_the_outbound_relay_carries_a_secret_of_the_tenant(
    alpha_on_twilio: TenantSetup,
) -> None:
    """The tenant has an LLM key, a Twilio auth token and a forward signing secret: Twilio's console shows a call's
    TwiML, so none of them may be in it, whichever path built it."""
    alpha = alpha_on_twilio
    auth_token = TwilioAccount.objects.get(tenant=alpha.tenant).auth_token
    with tenant_context(alpha.tenant):
        provider_credential_save(provider="openai", api_key=OPENAI_KEY)
        signing_secret = inbound_settings().forward_signing_secret
        agent = agent_create(
            fields={
                "name": "Front desk",
                "kind": Agent.Kind.BOTH,
                "system_prompt": "You answer the phone.",
                "greeting": "Hello.",
                "llm_provider": "openai",
                "llm_model": "gpt-4.1-mini",
            },
            created_by="test",
        )
        context = flows.CallContext(
            caller_number="+14155559876",
            called_number=SENDER,
            now=flows.local_now("UTC"),
            base_url=f"http://{alpha.host}",
        )
        inbound = str(flows.agent_document(agent_config_for_agent(agent_id=agent.pk), context))
        placed = agent_call_place(
            tenant=alpha.tenant, agent_id=agent.pk, contact={"name": "Ann", "phone": "+14155552671"}
        )
        assert placed.communication.twiml_document is not None
        outbound = placed.communication.twiml_document.xml

    secrets = {"LLM key": OPENAI_KEY, "auth token": auth_token, "forward signing secret": signing_secret}
    assert all(len(secret) >= 16 for secret in secrets.values())
    for document in (inbound, outbound):
        assert "<ConversationRelay" in document
        for name, secret in secrets.items():
            assert secret not in document and secret[-8:] not in document, name


def test_an_agent_that_records_starts_the_recording_before_the_relay(alpha: TenantSetup) -> None:
    config = replace(platform_default_config(), recording=True)
    with tenant_context(alpha.tenant):
        recorded = ElementTree.fromstring(relay_document_for(tenant=alpha.tenant, config=config, context={}).to_xml())
        placed = relay_document_for(tenant=alpha.tenant, config=config, context={}, start_recording=False)
        silent = relay_document_for(tenant=alpha.tenant, config=replace(config, recording=False), context={})

    assert [child.tag for child in recorded] == ["Start", "Connect"]
    recording = recorded.find("./Start/Recording")
    assert recording is not None
    assert recording.get("recordingStatusCallback", "").endswith("/webhooks/twilio/voice/recording/")
    assert (recording.get("recordingStatusCallbackMethod"), recording.get("track")) == ("POST", "both")
    assert recording.get("recordingStatusCallback", "").startswith(f"http://{alpha.host}")
    for document in (placed, silent):  # a call placed recording records itself; an agent that does not, not at all
        assert [child.tag for child in ElementTree.fromstring(document.to_xml())] == ["Connect"]
