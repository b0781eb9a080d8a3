"""Sample voice messages for a demo or a fresh tenant, created once: seeding again keeps what is there."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_tenants.utils import tenant_context

from tenants.models import Tenant
from voice.models import VoiceMessage
from voice.services import voice_message_create

DEMO_MESSAGES: tuple[dict[str, Any], ...] = (
    {
        "name": "Welcome Message",
        "message_type": VoiceMessage.Type.GREETING,
        "template_text": "Thank you for calling. Please stay on the line and the next available person will answer.",
    },
    {
        "name": "Appointment Reminder",
        "message_type": VoiceMessage.Type.REMINDER,
        "template_text": (
            "Hello {patient_name}, this is a reminder of your appointment on {appointment_date}~SSML~date "
            "at {appointment_time}~SSML~time. Please call us if you need to reschedule."
        ),
    },
    {
        "name": "Payment Due Notice",
        "message_type": VoiceMessage.Type.NOTIFICATION,
        "template_text": (
            "This is a notice that a payment of {amount}~SSML~currency is due. "
            "To pay by phone, call {phone_number}~SSML~phone."
        ),
    },
)


@dataclass(frozen=True)
class SeedOutcome:
    name: str
    created: bool


def demo_messages_seed(*, tenant: Tenant) -> list[SeedOutcome]:
    """Creates each demo message the tenant has no live message of that name for; never changes existing ones."""
    outcomes = []
    with tenant_context(tenant), transaction.atomic():
        for fields in DEMO_MESSAGES:
            exists = VoiceMessage.objects.alive().filter(name=fields["name"]).exists()
            if not exists:
                voice_message_create(**fields)
            outcomes.append(SeedOutcome(name=fields["name"], created=not exists))
    return outcomes
