from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from telephony.campaigns import campaign_progress, campaign_shown_status
from telephony.models import Campaign, Communication, OptOut, PlatformError, SenderNumber
from telephony.phone_numbers import normalize_e164
from telephony.policies import MAX_SENDER_POOL
from telephony.registry.models import TwilioAccount
from telephony.sms import MAX_CALL_TEXT, MAX_SMS_BODY

MAX_MEDIA_URLS = 10


class E164Field(serializers.CharField):
    """A phone number in any common writing, cleaned to E.164; anything else is this field's error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return normalize_e164(super().to_internal_value(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error


class CommunicationSerializer(serializers.ModelSerializer):
    to = serializers.CharField(source="to_number")
    voice_message_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Communication
        fields = [
            "id",
            "channel",
            "direction",
            "to",
            "content",
            "media_urls",
            "encoding",
            "segments",
            "voice_message_id",
            "variables",
            "record",
            "machine_detection",
            "status",
            "send_at",
            "attempts",
            "twilio_sid",
            "error_code",
            "error_message",
            "cost_amount",
            "cost_currency",
            "duration_seconds",
            "occurred_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(source="from_number", read_only=True)  # a Python keyword
        return fields


class _SendFields(serializers.Serializer):
    to = serializers.CharField(max_length=32)
    variables = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # "from" is what Twilio and integrators call it, and a Python keyword.
        fields["from"] = serializers.CharField(max_length=32, required=False, allow_blank=True, source="from_")
        return fields

    def validate_variables(self, variables: dict) -> dict:
        for name, value in variables.items():
            if isinstance(value, (dict, list)):
                raise serializers.ValidationError(f"'{name}' must be a string, number or boolean.")
        return variables


class MessageCreateSerializer(_SendFields):
    body = serializers.CharField(required=False, allow_blank=True, max_length=MAX_SMS_BODY)
    voice_message_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="Use this template as the text."
    )
    media_urls = serializers.ListField(
        child=serializers.URLField(), required=False, default=list, max_length=MAX_MEDIA_URLS
    )

    def validate(self, data: dict) -> dict:
        if data.get("body") and data.get("voice_message_id"):
            raise serializers.ValidationError({"body": ["Give a body or a voice_message_id, not both."]})
        if not data.get("body") and not data.get("voice_message_id") and not data.get("media_urls"):
            raise serializers.ValidationError({"body": ["Give a body, a voice_message_id or media_urls."]})
        return data


class CallCreateSerializer(_SendFields):
    voice_message_id = serializers.IntegerField(required=False, allow_null=True)
    text = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_CALL_TEXT, help_text="Spoken when no voice message is given."
    )
    record = serializers.BooleanField(required=False, default=False)
    machine_detection = serializers.BooleanField(required=False, default=False)

    def validate(self, data: dict) -> dict:
        if bool(data.get("voice_message_id")) == bool(data.get("text")):
            raise serializers.ValidationError({"voice_message_id": ["Give exactly one of voice_message_id and text."]})
        return data


class TwilioAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = TwilioAccount
        fields = ["kind", "status", "account_sid", "status_detail", "updated_at"]
        read_only_fields = fields


class OwnCredentialsSerializer(serializers.Serializer):
    account_sid = serializers.RegexField(r"^AC[0-9a-fA-F]{32}$")
    auth_token = serializers.CharField(min_length=16, max_length=64, write_only=True)


class SenderNumberSerializer(serializers.ModelSerializer):
    class Meta:
        model = SenderNumber
        fields = [
            "id",
            "phone_number",
            "kind",
            "is_default",
            "messages_per_second",
            "status",
            "status_detail",
            "twilio_sid",
            "verified_at",
            "created_at",
        ]
        read_only_fields = fields


class SenderNumberRegisterSerializer(serializers.Serializer):
    phone_number = E164Field(help_text="E.164, like +15551234567.")
    kind = serializers.ChoiceField(choices=SenderNumber.Kind.choices, default=SenderNumber.Kind.LONG_CODE)
    is_default = serializers.BooleanField(default=False)
    messages_per_second = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0.1,
        max_value=1000,
        help_text="Only for a number whose limit Twilio raised; otherwise its kind's rate applies.",
    )


class OptOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = OptOut
        fields = ["id", "phone_number", "source", "created_at"]
        read_only_fields = fields


class OptOutAddSerializer(serializers.Serializer):
    phone_number = E164Field(help_text="E.164, like +15551234567. It gets no more SMS.")


class PlatformErrorSerializer(serializers.ModelSerializer):
    communication_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = PlatformError
        fields = ["id", "occurred_at", "source", "message", "twilio_code", "communication_id", "context"]
        read_only_fields = fields


class CampaignRecipientSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=32, allow_blank=True)
    variables = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Communication.Channel.choices, default=Communication.Channel.SMS)
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_CALL_TEXT)
    voice_message_id = serializers.IntegerField(required=False, allow_null=True)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    recipients = CampaignRecipientSerializer(many=True, required=False)
    file = serializers.FileField(required=False, help_text="CSV with a 'to' column; other columns are variables.")
    senders = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        allow_empty=False,
        max_length=MAX_SENDER_POOL,
        help_text="A pool of verified senders (E.164) instead of 'from': each recipient gets one of them, always the same one.",
    )

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(max_length=32, required=False, allow_blank=True, source="from_")
        return fields

    def validate(self, data: dict) -> dict:
        if data.get("from_") and data.get("senders"):
            raise serializers.ValidationError({"senders": ["Give 'from' or 'senders', not both."]})
        if bool(data.get("recipients")) == bool(data.get("file")):
            raise serializers.ValidationError({"recipients": ["Give recipients as JSON or a CSV file (one of them)."]})
        if bool(data.get("body")) == bool(data.get("voice_message_id")):
            raise serializers.ValidationError({"body": ["Give exactly one of body and voice_message_id."]})
        return data


class CampaignSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    voice_message_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "status",
            "voice_message_id",
            "body",
            "senders",
            "send_at",
            "progress",
            "invalid_rows",
            "created_at",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # Typed for the schema: as a bare JSONField it would be "any".
        fields["senders"] = serializers.ListField(child=serializers.CharField(), read_only=True)
        fields["from"] = serializers.SerializerMethodField(
            help_text="The one sender, or null for a pool (see senders)."
        )
        return fields

    def get_from(self, campaign: Campaign) -> str | None:
        return campaign.senders[0] if len(campaign.senders) == 1 else None

    def to_representation(self, campaign: Campaign) -> dict:
        data = super().to_representation(campaign)
        data["status"] = campaign_shown_status(campaign=campaign, progress=data["progress"])
        return data

    def get_progress(self, campaign: Campaign) -> dict[str, int]:
        return campaign_progress(campaign=campaign)


class DayActivitySerializer(serializers.Serializer):
    day = serializers.DateField()
    stages = serializers.DictField(child=serializers.IntegerField(), help_text="Calls and SMS by stage.")
    total = serializers.IntegerField()
    costs = serializers.DictField(
        child=serializers.DecimalField(max_digits=14, decimal_places=5), help_text="What Twilio charged, per currency."
    )


class DailyActivityQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=366, default=30)
