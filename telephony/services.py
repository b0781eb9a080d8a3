from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from telephony import policies, scheduling, tasks
from telephony.models import Communication, SenderNumber
from telephony.phone_numbers import normalize_e164
from telephony.registry import routing
from telephony.registry.models import TwilioAccount
from telephony.sms import sms_shape
from telephony.statuses import NOT_YET_SENT, Status
from tenants.db import current_schema, current_tenant
from tenants.models import Tenant
from voice import templating
from voice.models import VoiceMessage


class NotReady(policies.PolicyError):
    pass


def twilio_account_usable(tenant: Tenant) -> TwilioAccount:
    account = TwilioAccount.objects.filter(tenant=tenant).first()
    if account is None or not account.is_usable:
        state = account.get_status_display().lower() if account else "not set up"
        raise NotReady(
            f"This account's Twilio connection is {state}; try again shortly.", code="twilio-not-ready", status=409
        )
    return account


def _queue_or_schedule(communication: Communication) -> None:
    if communication.status == Status.SCHEDULED:
        transaction.on_commit(lambda: scheduling.schedule(schema=current_schema(), communication=communication))
    else:
        transaction.on_commit(lambda: tasks.queue_now(communication_id=communication.pk))


def sms_text(*, body: str | None, voice_message: VoiceMessage | None, variables: Mapping[str, Any]) -> str:
    """The SMS text: the body as given, or a voice message's template with its variables filled in
    (say-as markers become plain text; audio placeholders are left out)."""
    if voice_message is None:
        return body or ""
    return templating.render_text(voice_message.template_text, variables)


def spoken_variables(template: str, *, field: str = "text") -> list[str]:
    """The variables a call's text uses; a syntax error is refused here, before anything is queued."""
    try:
        names, _ = templating.placeholders(template)
    except templating.TemplateSyntaxError as error:
        raise policies.PolicyError(str(error), code="bad-template", status=400, field=field) from error
    return names


def sms_send(
    *,
    tenant: Tenant,
    to: str,
    from_: str | None = None,
    body: str | None = None,
    voice_message: VoiceMessage | None = None,
    variables: Mapping[str, Any] | None = None,
    media_urls: Sequence[str] = (),
    send_at: datetime | None = None,
) -> Communication:
    """Checks every policy, records the message and queues it (or schedules it); Twilio is called by a worker."""
    variables = dict(variables or {})
    number = policies.destination_checked(tenant=tenant, to=to, channel=Communication.Channel.SMS)
    sender = policies.sender_checked(from_=from_)
    text = sms_text(body=body, voice_message=voice_message, variables=variables)
    if not text and not media_urls:
        raise policies.PolicyError("The message has no text and no media.", code="empty-message", field="body")
    policies.daily_limit_checked(tenant=tenant, channel=Communication.Channel.SMS)
    twilio_account_usable(tenant)
    shape = sms_shape(text)
    with transaction.atomic():
        communication = Communication.objects.create(
            channel=Communication.Channel.SMS,
            to_number=number,
            from_number=sender.phone_number,
            content=text,
            media_urls=list(media_urls),
            encoding=shape.encoding,
            segments=shape.segments,
            voice_message=voice_message,
            variables=variables,
            send_at=send_at,
            status=Status.SCHEDULED if send_at and send_at > timezone.now() else Status.PENDING,
        )
        _queue_or_schedule(communication)
    return communication


def call_place(
    *,
    tenant: Tenant,
    to: str,
    from_: str | None = None,
    voice_message: VoiceMessage | None = None,
    text: str | None = None,
    variables: Mapping[str, Any] | None = None,
    record: bool = False,
    machine_detection: bool = False,
    send_at: datetime | None = None,
) -> Communication:
    variables = dict(variables or {})
    number = policies.destination_checked(tenant=tenant, to=to, channel=Communication.Channel.CALL)
    sender = policies.sender_checked(from_=from_)
    template = voice_message.template_text if voice_message else (text or "")
    if not template.strip():
        raise policies.PolicyError("Give a voice_message_id or the text to speak.", code="empty-call", field="text")
    names = spoken_variables(template)
    missing = [name for name in names if variables.get(name) is None]
    if missing:
        raise templating.MissingValuesError(missing, [])
    policies.daily_limit_checked(tenant=tenant, channel=Communication.Channel.CALL)
    twilio_account_usable(tenant)
    with transaction.atomic():
        communication = Communication.objects.create(
            channel=Communication.Channel.CALL,
            to_number=number,
            from_number=sender.phone_number,
            content=template if voice_message is None else "",
            voice_message=voice_message,
            variables=variables,
            record=record,
            machine_detection=machine_detection,
            send_at=send_at,
            status=Status.SCHEDULED if send_at and send_at > timezone.now() else Status.PENDING,
        )
        _queue_or_schedule(communication)
    return communication


def communication_cancel(*, communication: Communication) -> Communication:
    """Calls off what has not gone yet; a call already with Twilio is hung up by a worker."""
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        if locked.status in NOT_YET_SENT:
            locked.status = Status.CANCELED
            locked.save(update_fields=["status", "updated_at"])
        elif locked.is_call_with_twilio:
            transaction.on_commit(lambda: tasks.hang_up_now(communication_id=locked.pk))
        else:
            raise policies.PolicyError(
                f"It is already {locked.get_status_display().lower()} and can no longer be canceled.",
                code="not-cancelable",
                status=409,
            )
    return locked


def sender_number_register(
    *,
    phone_number: str,
    kind: str = SenderNumber.Kind.LONG_CODE,
    is_default: bool = False,
    messages_per_second: float | None = None,
) -> SenderNumber:
    """Records a number the tenant may send from (bought through the numbers flow, or a verified caller ID).
    messages_per_second overrides the rate Twilio gives its kind (a number with a raised limit).

    The sender is pending, and refused by the send policies, until a worker has checked with Twilio that the
    tenant's account really has it (telephony.verification). Registering a number again checks it again."""
    number = normalize_e164(phone_number)
    with transaction.atomic():
        if is_default:
            SenderNumber.objects.filter(is_default=True).exclude(phone_number=number).update(is_default=False)
        sender, _ = SenderNumber.objects.update_or_create(
            phone_number=number,
            defaults={
                "kind": kind,
                "is_default": is_default,
                "messages_per_second": messages_per_second,
                "status": SenderNumber.Status.PENDING,
                "status_detail": "",
                "twilio_sid": "",
                "verified_at": None,
            },
        )
        transaction.on_commit(lambda: tasks.verify_sender_number.delay(sender_id=sender.pk))
    return sender


def sender_number_check_again(*, sender: SenderNumber) -> SenderNumber:
    """Asks Twilio again about a rejected number (bought since, or its caller ID verified since). A verified
    or pending sender is left alone: checking it again would refuse its sends until Twilio answered."""
    if sender.status != SenderNumber.Status.REJECTED:
        raise policies.PolicyError(
            f"{sender.phone_number} is {sender.get_status_display().lower()}; only a rejected number is checked again.",
            code="sender-state",
            status=409,
        )
    return sender_number_register(
        phone_number=sender.phone_number,
        kind=sender.kind,
        is_default=sender.is_default,
        messages_per_second=sender.messages_per_second,
    )


def sender_number_remove(*, sender: SenderNumber) -> None:
    """Stops the number being offered as a sender, and routes its calls and messages here no more. What was
    already queued from it still goes."""
    routing.number_route_release(tenant=current_tenant(), phone_number=sender.phone_number)
    sender.delete()
