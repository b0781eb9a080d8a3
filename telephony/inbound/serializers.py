from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from telephony.inbound.models import CALL_FLOW_FIELDS, CallFlow, InboundSettings, NumberSettings, Recording
from telephony.serializers import E164Field
from voice.selectors import voice_message_sendable_list


class CallFlowSerializer(serializers.ModelSerializer):
    voice_message = serializers.PrimaryKeyRelatedField(
        queryset=voice_message_sendable_list(), allow_null=True, required=False
    )

    class Meta:
        model = CallFlow
        fields = ["id", *CALL_FLOW_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The model's own rules (CallFlow.clean), as field errors."""
        flow = CallFlow(**{**self._current(), **attrs})
        try:
            flow.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return {**attrs, "forward_to": flow.forward_to} if "forward_to" in attrs else attrs

    def _current(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        return {
            field: getattr(self.instance, field)
            for field in self.Meta.fields
            if field not in self.Meta.read_only_fields
        }


class NumberSettingsSerializer(serializers.ModelSerializer):
    phone_number = E164Field(help_text="One of your numbers (a verified sender), E.164.")
    fallback_forward_to = E164Field(required=False, allow_blank=True)

    class Meta:
        model = NumberSettings
        fields = [
            "id",
            "phone_number",
            "call_flow",
            "agent",
            "auto_reply",
            "auto_reply_window_minutes",
            "forward_url",
            "forward_email",
            "fallback_message",
            "fallback_forward_to",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]


class InboundSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboundSettings
        fields = ["time_zone", "help_text", "recording_retention_days", "forward_signing_secret", "updated_at"]
        read_only_fields = ["forward_signing_secret", "updated_at"]


class RecordingSerializer(serializers.ModelSerializer):
    communication_id = serializers.IntegerField(read_only=True, allow_null=True)
    media_available = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "id",
            "communication_id",
            "call_sid",
            "recording_sid",
            "duration_seconds",
            "status",
            "status_detail",
            "transcription",
            "media_available",
            "created_at",
            "stored_at",
            "deleted_at",
        ]
        read_only_fields = fields

    def get_media_available(self, recording: Recording) -> bool:
        return recording.status == Recording.Status.STORED


class ConversationSerializer(serializers.Serializer):
    contact = serializers.CharField()
    last_message = serializers.CharField(source="content")
    last_direction = serializers.CharField(source="direction")
    last_at = serializers.DateTimeField(source="occurred_at")
