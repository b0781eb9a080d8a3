"""After a call: the tenant's LLM reads the transcript and answers in a JSON schema made from the agent's
analysis settings; structured_reply checks the answer against that same schema before anything is kept.

A malformed answer (not JSON, outside the schema, a category the agent does not have) is asked for again,
at most settings.ANALYSIS_MAX_ATTEMPTS times in all; then the analysis is recorded as failed with the reason.
Nothing here raises for what the model or its provider does: the worker always ends with done or failed.
"""

import asyncio
import time
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from config.redis_client import redis_client
from tenants.db import current_schema
from voice.agents.config import AgentConfig
from voice.agents.credentials import llm_credentials_for
from voice.agents.llm import ChatMessage, LLMBadOutput, LLMError, LLMRequest, structured_reply
from voice.conversations.models import Conversation, ConversationAnalysis, Turn
from voice.conversations.selectors import agent_config_of

logger = structlog.get_logger(__name__)

SCHEMA_NAME = "call_analysis"
SENTIMENTS = [choice.value for choice in ConversationAnalysis.Sentiment]
JSON_TYPES = {"string": "string", "number": "number", "boolean": "boolean"}
# What the model may say per conversation; a longer transcript keeps its end, where the outcome is.
TRANSCRIPT_CHARACTERS = 60_000
SUMMARY_CHARACTERS = 4000
# Longer than every attempt together can take (ANALYSIS_MAX_ATTEMPTS x ANALYSIS_TIMEOUT_SECONDS and the waits):
# past it, a running analysis has lost its worker.
ANALYSIS_LEASE_SECONDS = 120
STALE_BATCH = 500
INSTRUCTIONS = (
    "You analyse a finished phone call between a caller and an AI agent. Answer only with JSON in the schema "
    "given. rating: how well the call went for the caller, 1 (badly) to 5 (very well). sentiment: the caller's "
    "overall mood. categories: those of the allowed list that apply (none if none do). transfer_requested: "
    "whether the caller asked for a human. summary: two or three sentences. custom_fields: each field as "
    "its description says, of its type."
)


def analysis_schema(config: AgentConfig) -> dict[str, Any]:
    """The answer's JSON schema: every property required, nothing else allowed, and only the keywords providers'
    strict structured-output modes take; categories only from the agent's list, its custom fields typed."""
    categories: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    if config.analysis_categories:
        categories["items"]["enum"] = list(config.analysis_categories)
    else:
        categories["maxItems"] = 0
    custom_properties = {
        field["name"]: {
            "type": JSON_TYPES.get(field.get("type", "string"), "string"),
            "description": field.get("description", ""),
        }
        for field in config.analysis_custom_fields
    }
    return {
        "type": "object",
        "properties": {
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "sentiment": {"type": "string", "enum": SENTIMENTS},
            "categories": categories,
            "transfer_requested": {"type": "boolean"},
            "summary": {"type": "string"},
            "custom_fields": {
                "type": "object",
                "properties": custom_properties,
                "required": list(custom_properties),
                "additionalProperties": False,
            },
        },
        "required": ["rating", "sentiment", "categories", "transfer_requested", "summary", "custom_fields"],
        "additionalProperties": False,
    }


def transcript_text(turns: list[Turn]) -> str:
    """The conversation as the analysing model reads it; an interrupted reply is what the caller heard."""
    lines = []
    for turn in turns:
        speaker = "Caller" if turn.role == Turn.Role.USER else "Agent"
        said = turn.heard if turn.interrupted and turn.heard else turn.content
        lines.append(f"{speaker}: {said}" + (" [interrupted by the caller]" if turn.interrupted else ""))
    return "\n".join(lines)[-TRANSCRIPT_CHARACTERS:]


def analysis_request(conversation: Conversation, config: AgentConfig) -> LLMRequest:
    categories = ", ".join(config.analysis_categories) or "(none: leave categories empty)"
    fields = "".join(
        f"\n- {field['name']} ({field.get('type', 'string')}): {field.get('description', '')}"
        for field in config.analysis_custom_fields
    )
    return LLMRequest(
        provider=config.llm_provider,
        model=config.llm_model,
        system=f"{INSTRUCTIONS}\nAllowed categories: {categories}\nCustom fields:{fields or ' (none)'}",
        messages=(ChatMessage(role="user", content=transcript_text(list(conversation.turns.order_by("index")))),),
        temperature=0.0,
        max_tokens=settings.ANALYSIS_MAX_TOKENS,
        timeout_seconds=settings.ANALYSIS_TIMEOUT_SECONDS,
        credentials=llm_credentials_for(provider=config.llm_provider),
    )


def analysis_pending(*, conversation: Conversation) -> ConversationAnalysis:
    """The conversation's analysis row, made pending when it has none (a finished call's first step)."""
    analysis, _ = ConversationAnalysis.objects.get_or_create(conversation=conversation)
    return analysis


def _lease_key(conversation_id: int) -> str:
    return f"switchboard:analysis-lease:{current_schema()}:{conversation_id}"


def _claimed(conversation_id: int) -> bool:
    """Takes the analysis for this worker: a lease in Redis while it runs (one worker at a time), then one
    conditional UPDATE to running. A running analysis whose lease has run out lost its worker (killed mid-call;
    acks_late hands its task to another), so it is taken again; a finished one never is. Without Redis the
    UPDATE alone decides, from pending only."""
    try:
        leased = bool(redis_client().set(_lease_key(conversation_id), "1", nx=True, ex=ANALYSIS_LEASE_SECONDS))
    except RedisError:
        logger.warning("analysis_lease_unavailable", conversation_id=conversation_id)
        taken_from = [ConversationAnalysis.Status.PENDING]
    else:
        if not leased:
            return False
        taken_from = [ConversationAnalysis.Status.PENDING, ConversationAnalysis.Status.RUNNING]
    taken = ConversationAnalysis.objects.filter(conversation_id=conversation_id, status__in=taken_from).update(
        status=ConversationAnalysis.Status.RUNNING
    )
    if not taken:
        _release(conversation_id)  # finished already: nothing to hold
    return bool(taken)


def lease_left(*, conversation_id: int) -> int | None:
    """For an unfinished analysis another worker holds (or held, and died holding): the seconds until its lease
    runs out, when it is to be looked at again. None when it is finished, or without Redis (the beat resumes it)."""
    unfinished = [ConversationAnalysis.Status.PENDING, ConversationAnalysis.Status.RUNNING]
    if not ConversationAnalysis.objects.filter(conversation_id=conversation_id, status__in=unfinished).exists():
        return None
    try:
        left = int(redis_client().ttl(_lease_key(conversation_id)))
    except RedisError:
        return None
    return None if left == -1 else max(left, 1)  # -2: released or run out just now


def stale_analyses() -> list[int]:
    """The conversations whose analysis is still pending or running a lease after the call ended: their task was
    lost (a broker restart, a worker killed while another delivery was turned away)."""
    unfinished = [ConversationAnalysis.Status.PENDING, ConversationAnalysis.Status.RUNNING]
    cutoff = timezone.now() - timedelta(seconds=ANALYSIS_LEASE_SECONDS)
    stale = ConversationAnalysis.objects.filter(status__in=unfinished, conversation__ended_at__lt=cutoff)
    return list(stale.order_by("conversation_id").values_list("conversation_id", flat=True)[:STALE_BATCH])


def _release(conversation_id: int) -> None:
    try:
        redis_client().delete(_lease_key(conversation_id))
    except RedisError:
        pass  # it runs out by itself


def conversation_analyze(*, conversation_id: int) -> ConversationAnalysis | None:
    """Runs the analysis of a finished conversation (in a worker, in the tenant's schema) to done or failed;
    None when it is not this call's to run: running elsewhere, finished (a task delivered twice), or the
    conversation deleted since."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return None
    analysis_pending(conversation=conversation)
    if not _claimed(conversation_id):
        return None
    config = agent_config_of(conversation)
    schema = analysis_schema(config)
    request = analysis_request(conversation, config)
    if request.credentials is None:
        return _finished(
            conversation_id, attempts=0, error=f"no {config.llm_provider} credentials: add the provider's key"
        )
    reason = ""
    attempts = 0
    while attempts < settings.ANALYSIS_MAX_ATTEMPTS:
        attempts += 1
        try:
            answer = asyncio.run(structured_reply(request, schema=schema, name=SCHEMA_NAME))
        except LLMBadOutput as rejected:
            reason = f"malformed answer: {rejected}"
        except LLMError as error:
            reason = f"{type(error).__name__}: {error}"
            if not error.retryable:
                break
            if attempts < settings.ANALYSIS_MAX_ATTEMPTS:
                time.sleep(settings.ANALYSIS_RETRY_DELAY_SECONDS * attempts)  # a provider down for a moment
        else:
            return _finished(conversation_id, attempts=attempts, answer=answer)
        logger.info("analysis_attempt_failed", conversation_id=conversation_id, attempt=attempts, reason=reason)
    return _finished(conversation_id, attempts=attempts, error=reason)


def _finished(
    conversation_id: int, *, attempts: int, answer: dict[str, Any] | None = None, error: str = ""
) -> ConversationAnalysis:
    transaction.on_commit(lambda: _release(conversation_id))
    with transaction.atomic():
        analysis = ConversationAnalysis.objects.select_for_update().get(conversation_id=conversation_id)
        analysis.attempts += attempts
        analysis.completed_at = timezone.now()
        if answer is None:
            analysis.status, analysis.error = ConversationAnalysis.Status.FAILED, error[:2000]
        else:
            analysis.status, analysis.error = ConversationAnalysis.Status.DONE, ""
            analysis.rating = answer["rating"]
            analysis.sentiment = answer["sentiment"]
            analysis.categories = list(dict.fromkeys(answer["categories"]))
            analysis.transfer_requested = answer["transfer_requested"]
            analysis.summary = answer["summary"][:SUMMARY_CHARACTERS]
            analysis.custom_fields = answer["custom_fields"]
        analysis.save()
    return analysis
