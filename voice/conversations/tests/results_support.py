"""What the results tests share: a finished conversation with an agent, and the tenant's own HTTP endpoint."""

import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta

from django.utils import timezone

from telephony.inbound.forwarding import SIGNATURE_HEADER
from voice.agents.models import Agent
from voice.agents.services import agent_create
from voice.conversations.models import Conversation, Turn

CUSTOMER = "+14155559876"
AGENT_NUMBER = "+14155550100"


def agent_with_analysis(
    *,
    name: str = "Front desk",
    categories: Sequence[str] = ("billing", "booking", "complaint"),
    custom_fields: Sequence[dict[str, str]] = (
        {"name": "order_number", "description": "The order the caller named", "type": "string"},
        {"name": "callback_wanted", "description": "Whether they want a call back", "type": "boolean"},
    ),
    webhook_url: str = "",
    kind: str = Agent.Kind.BOTH,
) -> Agent:
    """An agent on the fake LLM, at version 1, run in the current tenant's schema."""
    return agent_create(
        fields={
            "name": name,
            "kind": kind,
            "system_prompt": "You are the front desk of Alpha Dental. Greet {name} by name.",
            "greeting": "Hello!",
            "llm_provider": "fake",
            "llm_model": "fake-model",
            "analysis_categories": list(categories),
            "analysis_custom_fields": [dict(field) for field in custom_fields],
            "end_of_call_webhook_url": webhook_url,
        },
        created_by="test",
    )


def finished_conversation(
    agent: Agent | None,
    *,
    call_sid: str = "CA" + "1" * 32,
    lines: Sequence[tuple[str, str]] = (
        ("assistant", "Hello! How can I help?"),
        ("user", "I was charged twice for order 4411."),
        ("assistant", "I am sorry about that, let me look at your bill and"),
        ("user", "Just get me a person please."),
    ),
    interrupted: int | None = 2,
    started_minutes_ago: int = 3,
) -> Conversation:
    """A call that ended, its turns written as the live engine writes them (`interrupted`: the index of the
    agent turn the caller spoke over, heard up to "let me look")."""
    started = timezone.now() - timedelta(minutes=started_minutes_ago)
    conversation = Conversation.objects.create(
        call_sid=call_sid,
        agent_id=agent.pk if agent else None,
        agent_name=agent.name if agent else "",
        agent_version=agent.version if agent else 0,
        direction=Conversation.Direction.INBOUND,
        customer_number=CUSTOMER,
        agent_number=AGENT_NUMBER,
        status=Conversation.Status.ENDED,
        end_reason=Conversation.EndReason.TRANSFERRED,
    )
    Conversation.objects.filter(pk=conversation.pk).update(started_at=started, ended_at=started + timedelta(seconds=95))
    for index, (role, content) in enumerate(lines):
        Turn.objects.create(
            conversation=conversation,
            index=index,
            role=role,
            content=content,
            interrupted=index == interrupted,
            heard="I am sorry about that, let me look" if index == interrupted else "",
            latency_ms=180.0 if role == "assistant" else None,
        )
    conversation.refresh_from_db()
    return conversation


def signature_valid(*, secret: str, headers: dict[str, str], body: bytes, tolerance_seconds: int = 300) -> bool:
    """What the tenant's receiver does: recompute the HMAC of "<t>.<body>" and refuse an old timestamp."""
    parts = dict(part.split("=", 1) for part in headers[SIGNATURE_HEADER].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(timezone.now().timestamp() - int(parts["t"])) <= tolerance_seconds
    return fresh and hmac.compare_digest(parts["v1"], expected)
