"""Outbound AI calls: an agent calls a contact.

The call goes the way every outbound call goes (telephony.policies' checks, a Communication handed to Twilio by
the delivery workers: at most once, at the account's call rate). What Twilio fetches when the contact answers is
a TwiML document made here at placement: the agent's `<Connect><ConversationRelay>` (voice.conversations.relay),
carrying the conversation's id and the contact, so the live engine picks up the conversation made here.
A campaign can have an agent call each of its contacts the same way (agent_campaign_create).
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from telephony import policies, tasks
from telephony.campaigns import sender_for
from telephony.models import Campaign, Communication
from telephony.services import twilio_account_usable
from telephony.statuses import Status
from tenants.hosts import tenant_base_url
from tenants.models import Tenant
from voice.agents.config import AgentConfig
from voice.agents.lookup import agent_config_for_agent
from voice.agents.models import Agent
from voice.conversations import relay
from voice.conversations.analysis import analysis_pending
from voice.conversations.models import Conversation
from voice.models import TwimlDocument

CONTACT_PARTS = ("name", "phone", "email")
MAX_CAMPAIGN_CONTACTS = 10_000
BULK_BATCH = 1000
# The delivery worker stores the call's SID once Twilio has answered its request, which a quickly answered call's
# relay setup can overtake: it is waited for this long.
PLACED_CALL_WAIT_SECONDS = 3.0


class AgentNotFound(DomainError):
    status = 404
    code = "agent-not-found"


@dataclass(frozen=True)
class AgentCall:
    conversation: Conversation
    communication: Communication


def _outbound_config(agent_id: int) -> AgentConfig:
    try:
        config = agent_config_for_agent(agent_id=agent_id)
    except Agent.DoesNotExist:
        raise AgentNotFound(f"There is no agent {agent_id}.") from None
    kind = Agent.objects.filter(pk=agent_id).values_list("kind", flat=True).first()
    if kind == Agent.Kind.INBOUND:
        raise policies.PolicyError(
            f"Agent {config.name!r} only answers calls; make it outbound (or both) to place calls with it.",
            code="agent-inbound-only",
            status=409,
        )
    return config


def relay_context(*, conversation: Conversation) -> dict[str, str]:
    """What the live engine gets back in `setup`: the conversation to continue, and the contact for the prompt
    (never a secret: Twilio shows a call's TwiML in its console)."""
    contact = conversation.contact
    context = {relay.CONVERSATION_CONTEXT: str(conversation.pk), relay.DIRECTION: conversation.direction}
    context.update({relay.CONTACT_PREFIX + part: str(contact[part]) for part in CONTACT_PARTS if contact.get(part)})
    for name, value in (contact.get("variables") or {}).items():
        context[relay.VARIABLE_PREFIX + name] = str(value)
    return context


def agent_call_place(
    *, tenant: Tenant, agent_id: int, contact: Mapping[str, Any], from_: str | None = None
) -> AgentCall:
    """Checks the agent and every call policy, records the conversation (outbound, with its contact) and the call,
    and queues the call; Twilio is called by a worker. `contact`: name, phone, email, variables."""
    config = _outbound_config(agent_id)
    try:
        number = policies.destination_checked(
            tenant=tenant, to=str(contact["phone"]), channel=Communication.Channel.CALL
        )
    except policies.PolicyError as refused:  # the same refusal, naming the field of this request
        raise policies.PolicyError(
            refused.message, code=refused.code, status=refused.status, field="contact.phone"
        ) from refused
    sender = policies.sender_checked(from_=from_)
    policies.daily_limit_checked(tenant=tenant, channel=Communication.Channel.CALL)
    twilio_account_usable(tenant)
    with transaction.atomic():
        conversation = _conversation(config, number=number, sender=sender.phone_number, contact=contact)
        conversation.save()
        document = _relay_document(tenant, config, conversation, base_url=tenant_base_url(tenant))
        document.save()
        communication = _call(config, conversation, document)
        communication.save()
        transaction.on_commit(lambda: tasks.queue_now(communication_id=communication.pk))
    return AgentCall(conversation=conversation, communication=communication)


def agent_campaign_create(
    *,
    tenant: Tenant,
    agent_id: int,
    name: str,
    contacts: Sequence[Mapping[str, Any]],
    from_: str | None = None,
    senders: list[str] | None = None,
) -> Campaign:
    """A campaign whose calls an agent makes, one per contact, with the campaign's progress, pause, resume and
    cancel (telephony.campaigns). Contacts that cannot be called are kept with their reason, as a campaign's
    invalid rows; a pool of `senders` gives each contact the same one of them, as any campaign does."""
    if len(contacts) > MAX_CAMPAIGN_CONTACTS:
        raise policies.PolicyError(
            f"At most {MAX_CAMPAIGN_CONTACTS} contacts per campaign.", code="too-many", status=400, field="contacts"
        )
    config = _outbound_config(agent_id)
    pool = policies.senders_checked(numbers=senders) if senders else [policies.sender_checked(from_=from_).phone_number]
    twilio_account_usable(tenant)
    callable_contacts: list[tuple[str, Mapping[str, Any]]] = []
    invalid: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row, contact in enumerate(contacts, start=1):
        try:
            number = policies.destination_allowed(tenant=tenant, to=str(contact["phone"]))
        except policies.PolicyError as refused:
            invalid.append({"row": row, "to": str(contact["phone"]), "reason": refused.message})
            continue
        if number in seen:
            invalid.append({"row": row, "to": str(contact["phone"]), "reason": "Duplicate of an earlier row."})
            continue
        seen.add(number)
        callable_contacts.append((number, contact))
    policies.daily_limit_checked(tenant=tenant, channel=Communication.Channel.CALL, adding=len(callable_contacts))
    base_url = tenant_base_url(tenant)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            channel=Communication.Channel.CALL,
            body=f"AI agent {config.name} (version {config.version})",
            senders=pool,
            invalid_rows=invalid,
        )
        conversations = Conversation.objects.bulk_create(
            [
                _conversation(config, number=number, sender=sender_for(pool=pool, to=number), contact=contact)
                for number, contact in callable_contacts
            ],
            batch_size=BULK_BATCH,
        )
        documents = TwimlDocument.objects.bulk_create(
            [_relay_document(tenant, config, conversation, base_url=base_url) for conversation in conversations],
            batch_size=BULK_BATCH,
        )
        calls = Communication.objects.bulk_create(
            [
                _call(config, conversation, document, campaign=campaign)
                for conversation, document in zip(conversations, documents, strict=True)
            ],
            batch_size=BULK_BATCH,
        )
        transaction.on_commit(lambda: tasks.queue_group(communication_ids=[call.pk for call in calls]))
    return campaign


def _conversation(config: AgentConfig, *, number: str, sender: str, contact: Mapping[str, Any]) -> Conversation:
    return Conversation(
        direction=Conversation.Direction.OUTBOUND,
        agent_id=config.agent_id,
        agent_name=config.name,
        agent_version=config.version,
        customer_number=number,
        agent_number=sender,
        contact={
            "name": contact.get("name", ""),
            "phone": number,
            "email": contact.get("email", ""),
            "variables": dict(contact.get("variables") or {}),
        },
    )


def _relay_document(tenant: Tenant, config: AgentConfig, conversation: Conversation, *, base_url: str) -> TwimlDocument:
    """What Twilio fetches when the contact answers: the agent's ConversationRelay, naming the conversation."""
    twiml = relay.relay_document_for(  # the call is placed recording (Communication.record): no second one here
        tenant=tenant,
        config=config,
        context=relay_context(conversation=conversation),
        base_url=base_url,
        start_recording=False,
    )
    return TwimlDocument(variables={relay.CONVERSATION_CONTEXT: conversation.pk}, xml=str(twiml))


def _call(
    config: AgentConfig, conversation: Conversation, document: TwimlDocument, *, campaign: Campaign | None = None
) -> Communication:
    return Communication(
        channel=Communication.Channel.CALL,
        to_number=conversation.customer_number,
        from_number=conversation.agent_number,
        content=f"AI agent {config.name} (version {config.version})",
        twiml_document=document,
        variables={relay.CONVERSATION_CONTEXT: conversation.pk},
        record=config.recording,
        campaign=campaign,
        status=Status.PENDING,
    )


def placed_conversation_for(*, conversation_id: int, call_sid: str) -> Conversation | None:
    """The live outbound conversation placed as Twilio's call `call_sid`: a `setup` naming a conversation that
    call was not placed for (another call's, a guessed id) continues nothing."""
    if not call_sid:
        return None
    deadline = time.monotonic() + PLACED_CALL_WAIT_SECONDS
    placed = Communication.objects.filter(
        twilio_sid=call_sid, **{f"variables__{relay.CONVERSATION_CONTEXT}": conversation_id}
    )
    while not placed.exists():
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
    return Conversation.objects.filter(
        pk=conversation_id,
        status=Conversation.Status.LIVE,
        direction=Conversation.Direction.OUTBOUND,
        call_sid__in=("", call_sid),
    ).first()


# An outbound call's final status, for a conversation whose relay never started: how the conversation ended.
UNANSWERED_END_REASONS: dict[str, str] = {
    Status.NO_ANSWER: Conversation.EndReason.NO_ANSWER,
    Status.BUSY: Conversation.EndReason.BUSY,
    Status.FAILED: Conversation.EndReason.CALL_FAILED,
    Status.CANCELED: Conversation.EndReason.CANCELED,
    Status.COMPLETED: Conversation.EndReason.CALLER_HUNG_UP,  # answered, and hung up before the agent was on
}
UNANSWERED_BATCH = 500


def unanswered_calls_end(*, conversation_ids: Sequence[int] | None = None) -> list[int]:
    """Ends the live outbound conversations whose call reached its final status without its relay ever starting
    (a relay that started ends its conversation itself): ended now, with the call's outcome as the end reason,
    and their analysis pending. Returns their ids, for the caller to queue the analysis once committed (as
    results.conversation_finished does). `conversation_ids`: only these (default: all, a batch at a time)."""
    waiting = Conversation.objects.filter(
        direction=Conversation.Direction.OUTBOUND, status=Conversation.Status.LIVE, call_sid=""
    )
    if conversation_ids is not None:
        waiting = waiting.filter(pk__in=conversation_ids)
    ids = list(waiting.order_by("pk").values_list("pk", flat=True)[:UNANSWERED_BATCH])
    key = f"variables__{relay.CONVERSATION_CONTEXT}"
    outcomes = Communication.objects.filter(
        channel=Communication.Channel.CALL, status__in=UNANSWERED_END_REASONS, **{f"{key}__in": ids}
    ).values_list(key, "status")
    ended: list[int] = []
    for conversation_id, call_status in outcomes:
        status = Conversation.Status.FAILED if call_status == Status.FAILED else Conversation.Status.ENDED
        with transaction.atomic():
            moved = Conversation.objects.filter(
                pk=conversation_id, status=Conversation.Status.LIVE, call_sid=""
            ).update(status=status, end_reason=UNANSWERED_END_REASONS[call_status], ended_at=timezone.now())
            if moved:
                analysis_pending(conversation=Conversation.objects.get(pk=conversation_id))
                ended.append(conversation_id)
    return ended
