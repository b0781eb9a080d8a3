"""What follows the end of a conversation with an agent (the live engine calls conversation_finished)."""

from functools import partial
from typing import Any

from django.db import transaction

from telephony.models import Communication
from voice.conversations import outbound, relay, tasks
from voice.conversations.analysis import analysis_pending
from voice.conversations.models import Conversation


def conversation_finished(*, conversation: Conversation) -> None:
    """Marks the conversation's analysis pending and, once committed, queues it; the end-of-call webhook
    follows the analysis, done or failed (none for a console session, which is analysed all the same)."""
    analysis_pending(conversation=conversation)
    transaction.on_commit(lambda: tasks.conversation_ended(conversation_id=conversation.pk))


def call_status_saved(sender: type[Communication], instance: Communication, **kwargs: Any) -> None:
    """A call placed for an agent reached its final status (Twilio's status callback, a cancel): its conversation
    ends now if its relay never started, and follows as any other. What is moved without a save (a campaign
    cancelled in bulk) the beat finds (tasks.end_unanswered_agent_calls)."""
    conversation_id = (instance.variables or {}).get(relay.CONVERSATION_CONTEXT)
    if instance.channel != Communication.Channel.CALL or instance.status not in outbound.UNANSWERED_END_REASONS:
        return
    if conversation_id:
        for ended_id in outbound.unanswered_calls_end(conversation_ids=[int(conversation_id)]):
            transaction.on_commit(partial(tasks.conversation_ended, conversation_id=ended_id))
