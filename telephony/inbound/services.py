"""What happens when a tenant's number is called or texted. Called by the webhooks in the tenant's schema:
each writes only what must be kept now and leaves slow work (forwarding, downloads) to a worker."""

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from telephony.appointments.services import appointment_reply_handle
from telephony.inbound import fallback, flows, tasks
from telephony.inbound.keywords import Keyword, keyword_of
from telephony.inbound.models import AutoReplySent, NumberSettings, Recording
from telephony.inbound.selectors import (
    inbound_settings,
    inbound_time_zone,
    number_settings_for,
    number_settings_for_call,
)
from telephony.models import Communication, OptOut
from telephony.policies import PolicyError
from telephony.records import opt_out_add, opt_out_lift
from telephony.registry.models import PhoneNumberRoute
from telephony.sms import sms_shape
from telephony.statuses import Status
from tenants.models import Tenant
from voice import templating
from voice.agents.lookup import agent_config_for_number

NOT_SET_UP = "This number does not take calls yet. Goodbye."
MAX_MEDIA = 10  # Twilio's own limit on an MMS


def _received(params: Mapping[str, str], *, channel: str, status: str) -> tuple[Communication, bool]:
    """The inbound call or SMS, recorded once: Twilio may send the same webhook again."""
    sid = params.get("CallSid") if channel == Communication.Channel.CALL else params.get("MessageSid")
    media = params.get("NumMedia", "")
    media_count = min(int(media), MAX_MEDIA) if channel == Communication.Channel.SMS and media.isdigit() else 0
    fields = {
        "channel": channel,
        "direction": Communication.Direction.INBOUND,
        "to_number": params.get("To", ""),
        "from_number": params.get("From", ""),
        "content": params.get("Body", ""),
        "media_urls": [params.get(f"MediaUrl{index}", "") for index in range(media_count)],
        "segments": int(params["NumSegments"]) if params.get("NumSegments", "").isdigit() else None,
        "status": status,
    }
    if not sid:  # not a request as Twilio sends them: as it always was
        with transaction.atomic():
            return Communication.objects.get_or_create(twilio_sid=None, defaults=fields)
    # Nearly every webhook is a new one: insert, and read what is there only when the sid is taken (the same
    # webhook again, or twice at once). On its own (autocommit) the INSERT needs no transaction; in one, a savepoint.
    guard: AbstractContextManager[object] = (
        transaction.atomic() if connection.in_atomic_block or not connection.get_autocommit() else nullcontext()
    )
    try:
        with guard:
            return Communication.objects.create(twilio_sid=sid, **fields), True
    except IntegrityError:
        return Communication.objects.get(twilio_sid=sid), False


def inbound_call_answer(*, params: Mapping[str, str], base_url: str) -> VoiceResponse:
    """Records the call and answers with the number's call flow."""
    _received(params, channel=Communication.Channel.CALL, status=Status.RINGING)
    number = params.get("To", "")
    settings = number_settings_for_call(number)
    if settings is not None:
        fallback.remember(settings)
    if settings is None or settings.call_flow is None:
        agent = agent_config_for_number(phone_number=number)  # the number's agent, else the tenant's default
        if agent.agent_id is not None:
            return flows.agent_document(agent, call_context(params, base_url))
        response = VoiceResponse()
        response.say(NOT_SET_UP, voice=flows.VOICE, language=flows.LANGUAGE)
        response.hangup()
        return response
    return flows.flow_document(settings.call_flow, call_context(params, base_url))


def call_context(params: Mapping[str, str], base_url: str) -> flows.CallContext:
    return flows.CallContext(
        caller_number=params.get("From", ""),
        called_number=params.get("To", ""),
        now=flows.local_now(inbound_time_zone()),
        base_url=base_url,
    )


def recording_received(*, params: Mapping[str, str]) -> Recording | None:
    """A recording status callback: the recording is kept (once) and a worker fetches its media."""
    sid = params.get("RecordingSid", "")
    if not sid or params.get("RecordingStatus", "completed") != "completed":
        return None
    call = Communication.objects.filter(twilio_sid=params.get("CallSid") or None).first()
    duration = params.get("RecordingDuration", "")
    recording, created = Recording.objects.get_or_create(
        recording_sid=sid,
        defaults={
            "communication": call,
            "call_sid": params.get("CallSid", ""),
            "media_url": params.get("RecordingUrl", ""),
            "duration_seconds": int(duration) if duration.isdigit() else None,
            "source": Recording.Source.VOICEMAIL
            if params.get("RecordingSource") == "RecordVerb"
            else Recording.Source.CALL,
        },
    )
    if created:
        transaction.on_commit(lambda: tasks.fetch_recording.delay(recording_id=recording.pk))
    return recording


def inbound_sms_answer(*, params: Mapping[str, str], status_callback_base: str) -> MessagingResponse:
    """Records the SMS, applies an opt-out keyword, and answers with the replies it calls for (HELP, an
    appointment's confirmation, the number's auto-reply), each recorded as an outbound message."""
    message, is_new = _received(params, channel=Communication.Channel.SMS, status=Status.RECEIVED)
    response = MessagingResponse()
    if not is_new:
        return response  # answered already
    sender, number, body = message.from_number, message.to_number, message.content
    settings = number_settings_for(number)
    keyword = keyword_of(body)
    replies: list[str]
    if keyword is Keyword.OPT_OUT:
        opt_out_add(phone_number=sender, source=OptOut.Source.STOP_REPLY)
        replies = []  # Twilio confirms the opt-out itself, and refuses anything more to the number
    elif keyword is Keyword.OPT_IN:
        opt_out_lift(phone_number=sender)
        replies = []  # Twilio confirms this one too
    elif keyword is Keyword.HELP:
        replies = [inbound_settings().help_text]
    else:
        replies = [text for text in (appointment_reply_handle(from_number=sender, body=body),) if text]
        if not replies and settings is not None and (auto_reply := _auto_reply_due(settings, sender)):
            replies = [auto_reply]
    for text in replies:
        reply = _reply_recorded(to=sender, from_=number, text=text)
        response.message(
            text,
            action=status_callback_base
            + reverse("twilio-status-callback", urlconf="config.urls_tenants", kwargs={"token": reply.public_token}),
            method="POST",
        )
    if settings is not None:
        _forward(message, settings)
    return response


def _forward(message: Communication, settings: NumberSettings) -> None:
    url, address = settings.forward_url, settings.forward_email
    if url:
        transaction.on_commit(lambda: tasks.forward_sms_to_url.delay(communication_id=message.pk, url=url))
    if address:
        transaction.on_commit(lambda: tasks.forward_sms_by_email.delay(communication_id=message.pk, address=address))


def _auto_reply_due(settings: NumberSettings, sender: str) -> str | None:
    """The number's auto-reply, if this sender has not had one within the window and has not opted out."""
    if not settings.auto_reply.strip() or OptOut.objects.filter(phone_number=sender).exists():
        return None
    now = timezone.now()
    window_start = now - timedelta(minutes=settings.auto_reply_window_minutes)
    clock = AutoReplySent.objects.filter(phone_number=settings.phone_number, sender=sender)
    if not clock.filter(sent_at__lte=window_start).update(sent_at=now):
        try:
            with transaction.atomic():
                AutoReplySent.objects.create(phone_number=settings.phone_number, sender=sender, sent_at=now)
        except IntegrityError:  # replied within the window (or just now, by a simultaneous webhook)
            return None
    variables = {"sender_number": sender, "called_number": settings.phone_number}
    return templating.render_text(settings.auto_reply, variables, strict=False) or None


def _reply_recorded(*, to: str, from_: str, text: str) -> Communication:
    shape = sms_shape(text)
    return Communication.objects.create(
        channel=Communication.Channel.SMS,
        direction=Communication.Direction.OUTBOUND,
        to_number=to,
        from_number=from_,
        content=text,
        encoding=shape.encoding,
        segments=shape.segments,
        status=Status.QUEUED,  # Twilio sends TwiML replies itself
    )


def number_settings_save(*, tenant: Tenant, phone_number: str, **fields: Any) -> NumberSettings:
    """Creates or changes what one of the tenant's numbers does. Only a number routed to the tenant (one its
    Twilio account owns, see telephony.registry.routing) can be set up."""
    if not PhoneNumberRoute.objects.filter(tenant=tenant, phone_number=phone_number).exists():
        raise PolicyError(
            f"{phone_number} is not one of this account's numbers (register it as a sender first).",
            code="not-your-number",
            status=422,
            field="phone_number",
        )
    settings, _ = NumberSettings.objects.update_or_create(phone_number=phone_number, defaults=fields)
    fallback.remember(settings)
    return settings


def recording_delete_request(*, recording: Recording) -> None:
    """The recording is deleted here and at Twilio by a worker."""
    transaction.on_commit(lambda: tasks.delete_recording.delay(recording_id=recording.pk))
