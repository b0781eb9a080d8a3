from typing import Any

from django.db.models import Case, F, Model, QuerySet, When, Window
from django.db.models.functions import RowNumber
from django.db.models.signals import post_delete, post_save

from telephony.inbound.models import CallFlow, InboundSettings, NumberSettings, Recording
from telephony.models import Communication
from tenants.db import current_schema
from tenants.freshness import kept, tenant_changed
from voice.models import VoiceMessage

# Flows that lead straight on are rendered into the same document: this deep (flows.MAX_FLOWS_PER_DOCUMENT).
_FLOW_DEPTH = 10


def inbound_settings() -> InboundSettings:
    """The tenant's one row of inbound settings, made with the defaults the first time it is read."""
    found, _ = InboundSettings.objects.get_or_create(pk=1)
    return found


def number_settings_for(phone_number: str) -> NumberSettings | None:
    return (
        NumberSettings.objects.select_related("call_flow", "call_flow__voice_message")
        .filter(phone_number=phone_number)
        .first()
    )


def inbound_time_zone() -> str:
    """The tenant's time zone (inbound_settings().time_zone), kept by the process until the tenant's inbound
    settings, numbers or flows change (tenants.freshness)."""
    return kept(current_schema(), "inbound-time-zone", lambda: inbound_settings().time_zone)


def number_settings_for_call(phone_number: str) -> NumberSettings | None:
    """number_settings_for, with the flows an incoming call's document renders already read (those that lead
    straight on: business hours' open and closed flows, what follows a menu or an agent), kept by the process
    until the tenant's numbers, flows or voice messages change (tenants.freshness). Each call gets its own copy."""
    return kept(
        current_schema(), f"number-settings:{phone_number}", lambda: _with_flows(number_settings_for(phone_number))
    )


def _with_flows(settings: NumberSettings | None) -> NumberSettings | None:
    if settings is not None and settings.call_flow is not None:
        _read_flows_after(settings.call_flow, depth=1)
    return settings


def _read_flows_after(flow: CallFlow, *, depth: int) -> None:
    """Reads what rendering `flow` reads of the flows after it, which are at `depth`."""
    following: list[CallFlow | None] = []
    if flow.kind == CallFlow.Kind.BUSINESS_HOURS:
        following = [flow.open_flow, flow.next_flow]
    elif flow.kind in (CallFlow.Kind.MENU, CallFlow.Kind.AGENT):
        following = [flow.next_flow]
    for step in following:
        if step is not None and depth < _FLOW_DEPTH:  # one that deep ends the document unread
            _ = step.voice_message
            _read_flows_after(step, depth=depth + 1)


def _tenant_rows_changed(sender: type[Model], **kwargs: Any) -> None:
    tenant_changed(current_schema())


for _model in (NumberSettings, CallFlow, InboundSettings, VoiceMessage):
    for _signal in (post_save, post_delete):
        _signal.connect(_tenant_rows_changed, sender=_model, dispatch_uid=f"inbound-kept-{_model.__name__}")


def call_flow_list() -> QuerySet[CallFlow]:
    return CallFlow.objects.select_related("voice_message", "open_flow", "next_flow").order_by("name", "id")


def call_flow_for_webhook(flow_id: int) -> CallFlow | None:
    return CallFlow.objects.select_related("voice_message").filter(pk=flow_id).first()


def number_settings_list() -> QuerySet[NumberSettings]:
    return NumberSettings.objects.select_related("call_flow").order_by("phone_number")


def recording_list() -> QuerySet[Recording]:
    return Recording.objects.select_related("communication").exclude(status=Recording.Status.DELETED)


def conversation_list(*, limit: int = 200) -> QuerySet[Communication]:
    """The last SMS with each contact number (annotated `contact`), newest conversation first: one query."""
    contact = Case(When(direction=Communication.Direction.INBOUND, then=F("from_number")), default=F("to_number"))
    newest_first = [F("occurred_at").desc(), F("id").desc()]
    ranked = Communication.objects.filter(channel=Communication.Channel.SMS).annotate(
        contact=contact, rank=Window(RowNumber(), partition_by=[contact], order_by=newest_first)
    )
    return ranked.filter(rank=1).order_by("-occurred_at", "-id")[:limit]


def conversation_messages(contact: str) -> QuerySet[Communication]:
    """The SMS thread with one contact number, both directions, oldest first."""
    inbound = Communication.objects.filter(
        channel=Communication.Channel.SMS, direction=Communication.Direction.INBOUND, from_number=contact
    )
    outbound = Communication.objects.filter(
        channel=Communication.Channel.SMS, direction=Communication.Direction.OUTBOUND, to_number=contact
    )
    return (inbound | outbound).order_by("occurred_at", "id")
