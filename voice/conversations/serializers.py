"""The CallResult shape (API and end-of-call webhook alike), the conversation list, and outbound AI calls."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from telephony.phone_numbers import normalize_e164
from telephony.policies import MAX_SENDER_POOL
from voice.conversations.models import Conversation, ConversationAnalysis, Turn
from voice.conversations.outbound import MAX_CAMPAIGN_CONTACTS
from voice.conversations.selectors import CallResult


class TranscriptTurnSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Turn.Role.choices)
    content = serializers.SerializerMethodField(help_text="What was said; for an interrupted reply, what was heard.")
    timestamp = serializers.DateTimeField(source="created_at")
    interrupted = serializers.BooleanField()
    latencyMs = serializers.FloatField(source="latency_ms", allow_null=True)

    @extend_schema_field(serializers.CharField())
    def get_content(self, turn: Turn) -> str:
        return turn.heard if turn.interrupted and turn.heard else turn.content


class AnalysisSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ConversationAnalysis.Status.choices)
    rating = serializers.IntegerField(min_value=1, max_value=5, allow_null=True)
    sentiment = serializers.ChoiceField(choices=ConversationAnalysis.Sentiment.choices, allow_blank=True)
    categories = serializers.ListField(child=serializers.CharField())
    transferRequested = serializers.BooleanField(source="transfer_requested")
    summary = serializers.CharField(allow_blank=True)
    customFields = serializers.DictField(source="custom_fields", help_text="The agent's custom fields, typed.")
    error = serializers.CharField(allow_blank=True, help_text="Why the analysis failed, when it did.")


class ConversationPartSerializer(serializers.Serializer):
    transcript = TranscriptTurnSerializer(many=True)
    analysis = AnalysisSerializer(allow_null=True)


class RecordingPartSerializer(serializers.Serializer):
    url = serializers.URLField()
    duration = serializers.IntegerField(allow_null=True, help_text="Seconds.")


class MetadataSerializer(serializers.Serializer):
    startTime = serializers.DateTimeField(source="conversation.started_at")
    endTime = serializers.DateTimeField(source="conversation.ended_at", allow_null=True)
    direction = serializers.ChoiceField(source="conversation.direction", choices=Conversation.Direction.choices)
    customerNumber = serializers.CharField(source="conversation.customer_number", allow_blank=True)
    agentNumber = serializers.CharField(source="conversation.agent_number", allow_blank=True)
    duration = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    agentId = serializers.IntegerField(source="conversation.agent_id", allow_null=True)
    agentName = serializers.CharField(source="conversation.agent_name", allow_blank=True)
    agentVersion = serializers.IntegerField(source="conversation.agent_version")
    endReason = serializers.ChoiceField(
        source="conversation.end_reason", choices=Conversation.EndReason.choices, allow_blank=True
    )
    contact = serializers.DictField(source="conversation.contact")


class CallResultSerializer(serializers.Serializer):
    """A conversation with an agent: transcript, analysis, recording and what the call was."""

    tenantId = serializers.CharField(source="tenant_id")
    callId = serializers.IntegerField(source="conversation.pk")
    callSid = serializers.CharField(source="conversation.call_sid", allow_blank=True)
    status = serializers.ChoiceField(source="conversation.status", choices=Conversation.Status.choices)
    recording = RecordingPartSerializer(allow_null=True)
    conversation = serializers.SerializerMethodField()
    metadata = MetadataSerializer(source="*")

    @extend_schema_field(ConversationPartSerializer)
    def get_conversation(self, result: CallResult) -> dict[str, Any]:
        return dict(ConversationPartSerializer({"transcript": result.transcript, "analysis": result.analysis}).data)


class ConversationSummarySerializer(serializers.ModelSerializer):
    """One line of the conversation list."""

    callId = serializers.IntegerField(source="pk")
    callSid = serializers.CharField(source="call_sid")
    agentId = serializers.IntegerField(source="agent_id", allow_null=True)
    agentName = serializers.CharField(source="agent_name")
    agentVersion = serializers.IntegerField(source="agent_version")
    customerNumber = serializers.CharField(source="customer_number")
    startTime = serializers.DateTimeField(source="started_at")
    endTime = serializers.DateTimeField(source="ended_at", allow_null=True)
    endReason = serializers.CharField(source="end_reason")
    analysis = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "callId",
            "callSid",
            "direction",
            "status",
            "agentId",
            "agentName",
            "agentVersion",
            "customerNumber",
            "startTime",
            "endTime",
            "endReason",
            "analysis",
        ]

    @extend_schema_field(AnalysisSerializer(allow_null=True))
    def get_analysis(self, conversation: Conversation) -> dict[str, Any] | None:
        analysis = getattr(conversation, "analysis", None)
        return None if analysis is None else dict(AnalysisSerializer(analysis).data)


class ContactSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, help_text="E.164.")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    variables = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True),
        required=False,
        default=dict,
        help_text="Available to the agent's prompt as {name}.",
    )

    def validate_phone(self, value: str) -> str:
        return normalize_e164(value)

    def validate_variables(self, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not name.isidentifier()]
        if bad:
            raise serializers.ValidationError(f"Names are letters, digits and _: {', '.join(sorted(bad))}.")
        return value


class AgentCallCreateSerializer(serializers.Serializer):
    contact = ContactSerializer()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "from" is what Twilio and integrators call it, and a Python keyword.
        fields["from"] = serializers.CharField(
            max_length=32,
            required=False,
            allow_blank=True,
            source="from_",
            help_text="The number to call from (E.164); the default sender if left out.",
        )
        return fields


class AgentCallSerializer(serializers.Serializer):
    """An outbound AI call accepted: the conversation it will be, and the call that places it."""

    callId = serializers.IntegerField(source="conversation.pk")
    communicationId = serializers.IntegerField(source="communication.pk")
    status = serializers.CharField(source="communication.status")
    agentId = serializers.IntegerField(source="conversation.agent_id")
    agentVersion = serializers.IntegerField(source="conversation.agent_version")
    to = serializers.CharField(source="communication.to_number")
    contact = serializers.DictField(source="conversation.contact")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(source="communication.from_number", read_only=True)
        return fields


class AgentCampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    contacts = ContactSerializer(many=True, allow_empty=False, help_text=f"At most {MAX_CAMPAIGN_CONTACTS}.")
    senders = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        allow_empty=False,
        max_length=MAX_SENDER_POOL,
        help_text="A pool of verified senders (E.164) instead of 'from': each contact gets one of them, always the same one.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(max_length=32, required=False, allow_blank=True, source="from_")
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("from_") and data.get("senders"):
            raise serializers.ValidationError({"senders": ["Give 'from' or 'senders', not both."]})
        return data
