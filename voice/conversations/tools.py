"""The tools an agent may call during a conversation, as the model sees them, and the ones that touch the database.

transfer_to_human and end_call end the relay (the engine sends `end` with handoffData; the <Connect action>
callback in webhooks.py dials the transfer number); press_digits becomes a `sendDigits` message; send_sms
goes through the platform's outbound path with all of its policies (telephony.services.sms_send), to the
caller only: the model never chooses whom to text.
"""

import re
from typing import Any

from telephony import policies
from telephony.models import SenderNumber
from telephony.services import sms_send
from tenants.db import current_tenant
from voice.agents.config import AgentConfig
from voice.agents.llm import ToolSpec

TRANSFER_TO_HUMAN = "transfer_to_human"
END_CALL = "end_call"
SEND_SMS = "send_sms"
PRESS_DIGITS = "press_digits"
DIGITS = re.compile(r"^[0-9*#wW]{1,32}$")  # w: a half-second pause, as Twilio's sendDigits reads it
MAX_SMS_CHARACTERS = 640


def tool_specs(config: AgentConfig) -> tuple[ToolSpec, ...]:
    """What the model may call; a transfer only when the agent has somewhere to transfer to."""
    specs = [
        ToolSpec(
            name=END_CALL,
            description="End the call politely once the caller's request is handled or they say goodbye.",
            parameters={
                "type": "object",
                "properties": {"reason": {"type": "string", "description": "Why the call ends."}},
                "required": [],
            },
        ),
        ToolSpec(
            name=SEND_SMS,
            description="Send a text message (SMS) to the caller's phone, e.g. an address, a link or a summary.",
            parameters={
                "type": "object",
                "properties": {"body": {"type": "string", "description": "The text to send, under 640 characters."}},
                "required": ["body"],
            },
        ),
        ToolSpec(
            name=PRESS_DIGITS,
            description="Press keys on the phone keypad (for example to navigate another company's menu).",
            parameters={
                "type": "object",
                "properties": {"digits": {"type": "string", "description": "0-9, * and #; w waits half a second."}},
                "required": ["digits"],
            },
        ),
    ]
    if config.transfer_numbers:
        rules = f" Transfer rules: {config.transfer_rules}" if config.transfer_rules.strip() else ""
        specs.insert(
            0,
            ToolSpec(
                name=TRANSFER_TO_HUMAN,
                description="Transfer the caller to a human colleague when they ask for a person or you cannot help."
                + rules,
                parameters={
                    "type": "object",
                    "properties": {
                        "reason": {"type": "string", "description": "Why the caller needs a human."},
                        "summary": {"type": "string", "description": "One or two sentences for the colleague."},
                    },
                    "required": ["summary"],
                },
            ),
        )
    return tuple(specs)


def transfer_target(config: AgentConfig, arguments: dict[str, Any]) -> str | None:
    """The number a transfer dials: the one the model named if it is one of the agent's, else the first."""
    wanted = str(arguments.get("number") or "")
    if wanted in config.transfer_numbers:
        return wanted
    return config.transfer_numbers[0] if config.transfer_numbers else None


def digits_checked(arguments: dict[str, Any]) -> str | None:
    digits = str(arguments.get("digits") or "").strip()
    return digits if DIGITS.match(digits) else None


def caller_sms_send(*, to: str, agent_number: str, body: str) -> str:
    """Texts the caller (runs in the tenant's schema). Answers what the model is told: sent, or why not."""
    body = body.strip()
    if not body:
        return "Not sent: the message was empty."
    if not to or to == "anonymous":
        return "Not sent: the caller's number is unknown."
    # From the number the caller called when it is one of the tenant's senders, else the tenant's default sender.
    sender = agent_number if SenderNumber.objects.filter(phone_number=agent_number).exists() else None
    try:
        message = sms_send(tenant=current_tenant(), to=to, from_=sender, body=body[:MAX_SMS_CHARACTERS])
    except policies.PolicyError as refused:
        return f"Not sent: {refused}"
    return f"Sent (message {message.pk})."
