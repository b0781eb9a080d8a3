"""The workers' tasks for finished conversations, and the only place that queues them (task objects;
tenant-schemas-celery sends the current schema along, so each runs in the tenant's schema that queued it)."""

from celery import shared_task

from telephony.inbound.tasks import FORWARD_RETRIES
from telephony.tasks import in_each_tenant
from voice.conversations import analysis, callbacks, outbound


@shared_task(acks_late=True)
def analyze_conversation(*, conversation_id: int) -> str | None:
    """Runs in the tenant's schema: the analysis to done or failed (it never raises for what the model
    answers), then the end-of-call webhook, which carries the analysis either way. A second delivery of the
    task finds the analysis finished and does nothing, or taken by another worker and comes back when that
    worker's lease runs out (it may have died with it)."""
    finished = analysis.conversation_analyze(conversation_id=conversation_id)
    if finished is None:
        wait = analysis.lease_left(conversation_id=conversation_id)
        if wait is not None:  # another worker has it, or had it and died: looked at again once its lease is out
            analyze_conversation.apply_async(kwargs={"conversation_id": conversation_id}, countdown=wait + 1)
        return None
    send_end_of_call_webhook.delay(conversation_id=conversation_id)
    return finished.status


@shared_task(**FORWARD_RETRIES)
def send_end_of_call_webhook(*, conversation_id: int) -> int | None:
    """Runs in the tenant's schema; tried again with backoff while the tenant's URL cannot take it."""
    return callbacks.end_of_call_webhook_send(conversation_id=conversation_id)


def conversation_ended(*, conversation_id: int) -> None:
    """Queues what follows a conversation's end: its analysis, then its end-of-call webhook."""
    analyze_conversation.delay(conversation_id=conversation_id)


@shared_task
def end_unanswered_agent_calls() -> int:
    """Beat, every minute: ends each tenant's outbound conversations whose call ended unanswered without a save
    that told us (results.call_status_saved), e.g. a campaign cancelled in bulk; their analysis follows."""
    ended = 0
    for _ in in_each_tenant():
        for conversation_id in outbound.unanswered_calls_end():
            analyze_conversation.delay(conversation_id=conversation_id)
            ended += 1
    return ended


@shared_task
def resume_stale_analyses() -> int:
    """Beat, every five minutes: queues again each tenant's analyses still unfinished a lease after their call
    ended (their task was lost); the lease keeps a second run from starting while one is under way."""
    queued = 0
    for _ in in_each_tenant():
        for conversation_id in analysis.stale_analyses():
            analyze_conversation.delay(conversation_id=conversation_id)
            queued += 1
    return queued
