"""Call flows as TwiML: what a caller hears, and where each flow hands the call on.

A flow that leads straight on (business hours, a menu without a choice, an AI agent) is
rendered into the same document; one that waits for Twilio (a menu's digit, a forward's outcome, a
voicemail) names the webhook Twilio comes back to, which renders the next flow then.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.urls import reverse
from twilio.twiml.voice_response import Gather, VoiceResponse

from telephony.inbound.models import WEEKDAYS, CallFlow
from tenants.db import current_tenant
from voice import templating
from voice.agents.config import AgentConfig
from voice.agents.lookup import agent_config_for_agent, agent_config_for_number
from voice.agents.models import Agent
from voice.conversations.relay import DIRECTION, relay_document_for
from voice.services import voice_message_render

# A tree of flows that leads back to itself ends here rather than in an endless document.
MAX_FLOWS_PER_DOCUMENT = 10
VOICE = "Polly.Joanna-Neural"
LANGUAGE = "en-US"
GOODBYE = "Goodbye."


@dataclass(frozen=True)
class CallContext:
    caller_number: str
    called_number: str
    now: datetime  # in the tenant's time zone
    base_url: str  # where Twilio reached us (tenant host or public host): flows' webhooks are under it

    @property
    def variables(self) -> dict[str, str]:
        hour = self.now.hour
        return {
            "caller_number": self.caller_number,
            "called_number": self.called_number,
            "time_of_day": "morning" if 5 <= hour < 12 else "afternoon" if 12 <= hour < 18 else "evening",
            "time": self.now.strftime("%H:%M"),
            "date": self.now.date().isoformat(),
            "weekday": self.now.strftime("%A"),
        }

    def url(self, view_name: str, flow: CallFlow) -> str:
        return self.base_url + reverse(view_name, kwargs={"flow_id": flow.pk})


def local_now(time_zone: str) -> datetime:
    return datetime.now(ZoneInfo(time_zone))


def flow_document(flow: CallFlow | None, context: CallContext) -> VoiceResponse:
    response = VoiceResponse()
    _render(flow, context, response, depth=0)
    return response


def _render(flow: CallFlow | None, context: CallContext, response: VoiceResponse, *, depth: int) -> None:
    if flow is None or depth >= MAX_FLOWS_PER_DOCUMENT:
        response.say(GOODBYE, voice=VOICE, language=LANGUAGE)
        response.hangup()
        return
    kind = flow.kind
    if kind == CallFlow.Kind.MESSAGE:
        _speak(flow, context, response)
        response.hangup()
    elif kind == CallFlow.Kind.FORWARD:
        _speak(flow, context, response)
        caller_id = context.caller_number if flow.caller_id == CallFlow.CallerId.CALLER else context.called_number
        response.dial(
            flow.forward_to,
            caller_id=caller_id,
            timeout=flow.ring_seconds,
            action=context.url("inbound-flow-dialed", flow),
            method="POST",
        )
    elif kind == CallFlow.Kind.VOICEMAIL:
        _speak(flow, context, response)
        response.record(
            max_length=flow.max_recording_seconds,
            play_beep=True,
            transcribe=flow.transcribe,
            action=context.url("inbound-flow-recorded", flow),
            method="POST",
            recording_status_callback=context.base_url + reverse("inbound-recording"),
            recording_status_callback_method="POST",
        )
        response.say("No message was recorded. " + GOODBYE, voice=VOICE, language=LANGUAGE)
        response.hangup()
    elif kind == CallFlow.Kind.BUSINESS_HOURS:
        _render(flow.open_flow if is_open(flow, context.now) else flow.next_flow, context, response, depth=depth + 1)
    elif kind == CallFlow.Kind.MENU:
        gather = response.gather(
            num_digits=1,
            timeout=flow.menu_seconds,
            action=context.url("inbound-flow-chosen", flow),
            method="POST",
            action_on_empty_result=False,
        )
        _speak(flow, context, gather)
        _render(flow.next_flow, context, response, depth=depth + 1)  # heard when no digit is pressed
    else:  # an AI agent: the flow's, else the number's, else the tenant's default, else the platform's
        for verb in agent_document(_flow_agent_config(flow, context), context).verbs:
            response.append(verb)


def _flow_agent_config(flow: CallFlow, context: CallContext) -> AgentConfig:
    if flow.agent_id is not None:
        try:
            return agent_config_for_agent(agent_id=flow.agent_id)
        except Agent.DoesNotExist:  # deleted since the flow was read: the number's agent takes the call
            pass
    return agent_config_for_number(phone_number=context.called_number)


def agent_document(config: AgentConfig, context: CallContext) -> VoiceResponse:
    """The call handed to its AI agent over ConversationRelay (voice.conversations.relay)."""
    return relay_document_for(
        tenant=current_tenant(), config=config, context={DIRECTION: "inbound", **context.variables}
    )


def _speak(flow: CallFlow, context: CallContext, into: VoiceResponse | Gather) -> None:
    """The flow's text or voice message, with the call's variables; what is missing is left out."""
    if flow.voice_message is not None:
        voice_message_render(message=flow.voice_message, variables=context.variables, strict=False, into=into)
    elif flow.text.strip():
        templating.render(flow.text, context.variables, voice=VOICE, language=LANGUAGE, strict=False, into=into)


def is_open(flow: CallFlow, now: datetime) -> bool:
    """Whether `now` (in the tenant's time zone) falls in the flow's open hours and is no holiday."""
    if now.date().isoformat() in flow.holidays:
        return False
    clock = now.strftime("%H:%M")
    return any(opens <= clock < closes for opens, closes in flow.hours.get(WEEKDAYS[now.weekday()], []))


def menu_choice_document(flow: CallFlow, digits: str, context: CallContext) -> VoiceResponse:
    """After a menu's digit: the chosen flow, or the menu again for a key that is not on it."""
    chosen_id = flow.options.get(digits)
    chosen = CallFlow.objects.select_related("voice_message").filter(pk=chosen_id).first() if chosen_id else None
    if chosen is not None:
        return flow_document(chosen, context)
    response = VoiceResponse()
    response.say("Sorry, that is not one of the choices.", voice=VOICE, language=LANGUAGE)
    response.redirect(context.url("inbound-flow", flow), method="POST")
    return response


def dial_outcome_document(flow: CallFlow, dial_status: str, context: CallContext) -> VoiceResponse:
    """After a forward: done if someone answered, else the flow's fallback (typically voicemail)."""
    if dial_status in ("completed", "answered"):
        response = VoiceResponse()
        response.hangup()
        return response
    return flow_document(flow.next_flow, context)


def recorded_document() -> VoiceResponse:
    response = VoiceResponse()
    response.say("Thank you, your message has been recorded. " + GOODBYE, voice=VOICE, language=LANGUAGE)
    response.hangup()
    return response
