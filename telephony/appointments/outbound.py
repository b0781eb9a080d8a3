"""Appointment SMS onto the platform's outbound path, many at a time.

The same checks as telephony.services.sms_send (a valid destination in an allowed country, not opted out,
the default sender verified, the daily limit, a usable Twilio account), then one bulk insert of the accepted
Communications, queued with telephony.tasks.queue_group (the group delivery path) once the caller's
transaction commits. A refusal is returned, not raised: the caller records it on its notification.

Built on telephony's public functions; it belongs in telephony itself (next to campaigns' bulk path) once
another caller needs it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django_tenants.utils import schema_context

from telephony import policies, tasks
from telephony.models import Communication
from telephony.services import twilio_account_usable
from telephony.sms import MAX_SMS_BODY, sms_shape
from tenants.db import current_schema
from tenants.models import Tenant


@dataclass(frozen=True)
class Sms:
    to: str
    body: str


Outcome = Communication | policies.PolicyError


def sms_batch_create(*, tenant: Tenant, messages: Sequence[Sms]) -> list[Outcome]:
    """Per message, in order: its Communication (created, queued on commit) or why it was refused.
    Runs inside the caller's transaction, so nothing is queued for work that is rolled back."""
    if not messages:
        return []
    try:
        sender = policies.sender_checked(from_=None)
        twilio_account_usable(tenant)
    except policies.PolicyError as refusal:
        return [refusal] * len(messages)
    outcomes: dict[int, Outcome] = {}
    reachable: list[tuple[int, str]] = []
    for index, message in enumerate(messages):
        try:
            reachable.append((index, _checked(tenant, message)))
        except policies.PolicyError as refusal:
            outcomes[index] = refusal
    # One query for the whole batch rather than one per message.
    opted_out = policies.opted_out_among(numbers=[number for _, number in reachable])
    accepted: list[tuple[int, Communication]] = []
    for index, number in reachable:
        if number in opted_out:
            outcomes[index] = policies.opted_out_error(number)
            continue
        shape = sms_shape(messages[index].body)
        communication = Communication(
            channel=Communication.Channel.SMS,
            to_number=number,
            from_number=sender.phone_number,
            content=messages[index].body,
            encoding=shape.encoding,
            segments=shape.segments,
        )
        accepted.append((index, communication))
    try:
        # As for a campaign: the batch fits within the day's limit, or none of it goes.
        policies.daily_limit_checked(tenant=tenant, channel=Communication.Channel.SMS, adding=len(accepted))
    except policies.PolicyError as refusal:
        outcomes.update((index, refusal) for index, _ in accepted)
        return [outcomes[index] for index in range(len(messages))]
    created = Communication.objects.bulk_create([communication for _, communication in accepted])
    for (index, _), communication in zip(accepted, created, strict=True):
        outcomes[index] = communication
    communication_ids = [communication.pk for communication in created]
    if communication_ids:
        schema = current_schema()

        def queue() -> None:
            # In this tenant's schema even when the commit comes after the caller has left it.
            with schema_context(schema):
                tasks.queue_group(communication_ids=communication_ids)

        transaction.on_commit(queue)
    return [outcomes[index] for index in range(len(messages))]


def _checked(tenant: Tenant, message: Sms) -> str:
    number = policies.destination_allowed(tenant=tenant, to=message.to)
    if not message.body.strip():
        raise policies.PolicyError("The message has no text.", code="empty-message", field="body")
    if len(message.body) > MAX_SMS_BODY:
        raise policies.PolicyError(f"An SMS holds at most {MAX_SMS_BODY} characters.", code="too-long", field="body")
    return number
