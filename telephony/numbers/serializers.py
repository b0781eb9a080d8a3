from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from telephony.inbound.models import CallFlow
from telephony.numbers.models import PhoneNumber
from telephony.numbers.validators import AREA_CODE_MESSAGE, AREA_CODE_PATTERN
from telephony.serializers import E164Field
from voice.agents.models import Agent

COUNTRY_HELP = "ISO 3166 country code, e.g. US, CA, GB, DE, AU."


class CountryField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            r"^[A-Za-z]{2}$",
            max_length=2,
            error_messages={"invalid": "A two-letter country code, such as US or GB."},
            help_text=COUNTRY_HELP,
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data)).upper()


class AvailableSearchSerializer(serializers.Serializer):
    """The query of GET /numbers/available/."""

    country = CountryField(default="US")
    type = serializers.ChoiceField(choices=PhoneNumber.NumberType.choices, default=PhoneNumber.NumberType.LOCAL)
    area_code = serializers.RegexField(AREA_CODE_PATTERN, required=False, error_messages={"invalid": AREA_CODE_MESSAGE})
    contains = serializers.RegexField(
        r"^[0-9A-Za-z*]{2,16}$",
        required=False,
        help_text="Part of the number: digits, letters (as on a phone keypad) and * for any one digit.",
        error_messages={"invalid": "2 to 16 digits, letters or * (any digit), e.g. 555 or HELLO or 55*1."},
    )
    sms = serializers.BooleanField(required=False, allow_null=True, default=None)
    voice = serializers.BooleanField(required=False, allow_null=True, default=None)
    mms = serializers.BooleanField(required=False, allow_null=True, default=None)
    exclude_address_required = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("area_code") and attrs["type"] != PhoneNumber.NumberType.LOCAL:
            raise serializers.ValidationError({"area_code": ["Only local numbers are searched by area code."]})
        return attrs


class AvailableNumberSerializer(serializers.Serializer):
    phone_number = serializers.CharField(source="offer.phone_number")
    friendly_name = serializers.CharField(source="offer.friendly_name")
    country = serializers.CharField(source="offer.iso_country")
    locality = serializers.CharField(source="offer.locality")
    region = serializers.CharField(source="offer.region")
    postal_code = serializers.CharField(source="offer.postal_code")
    capabilities = serializers.DictField(child=serializers.BooleanField(), source="offer.capabilities")
    address_requirements = serializers.CharField(source="offer.address_requirements")
    monthly_cost = serializers.DecimalField(max_digits=8, decimal_places=2)
    currency = serializers.CharField()


class PhoneNumberPurchaseSerializer(serializers.Serializer):
    """POST /numbers/: a given number, or the first Twilio offers of a type in a country (and area code)."""

    phone_number = E164Field(required=False, help_text="The number to buy, from /numbers/available/.")
    country = CountryField(default="US")
    type = serializers.ChoiceField(choices=PhoneNumber.NumberType.choices, default=PhoneNumber.NumberType.LOCAL)
    area_code = serializers.RegexField(AREA_CODE_PATTERN, required=False, error_messages={"invalid": AREA_CODE_MESSAGE})
    friendly_name = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("phone_number") and attrs.get("area_code"):
            raise serializers.ValidationError({"area_code": ["Give a phone number or an area code, not both."]})
        if attrs.get("area_code") and attrs["type"] != PhoneNumber.NumberType.LOCAL:
            raise serializers.ValidationError({"area_code": ["Only local numbers are bought by area code."]})
        return attrs


class _Named(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PhoneNumberSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="number_type")
    call_flow = serializers.SerializerMethodField()
    agent = serializers.SerializerMethodField()
    auto_reply = serializers.SerializerMethodField()

    class Meta:
        model = PhoneNumber
        fields = [
            "id",
            "phone_number",
            "friendly_name",
            "status",
            "status_detail",
            "country",
            "type",
            "area_code",
            "capabilities",
            "monthly_cost",
            "currency",
            "reason",
            "call_flow",
            "agent",
            "auto_reply",
            "provisioned_at",
            "released_at",
            "created_at",
        ]
        read_only_fields = fields

    def _settings(self, number: PhoneNumber) -> Any:
        settings_by_number: dict[str, Any] = self.context.get("settings_by_number", {})
        return settings_by_number.get(number.phone_number)

    @extend_schema_field(_Named(allow_null=True))
    def get_call_flow(self, number: PhoneNumber) -> dict[str, Any] | None:
        settings = self._settings(number)
        flow = settings.call_flow if settings else None
        return {"id": flow.pk, "name": flow.name} if flow else None

    @extend_schema_field(_Named(allow_null=True))
    def get_agent(self, number: PhoneNumber) -> dict[str, Any] | None:
        settings = self._settings(number)
        agent = settings.agent if settings else None
        return {"id": agent.pk, "name": agent.name} if agent else None

    def get_auto_reply(self, number: PhoneNumber) -> str:
        settings = self._settings(number)
        return settings.auto_reply if settings else ""


class PhoneNumberUpdateSerializer(serializers.Serializer):
    """PATCH /numbers/{id}/: its name, the call flow or AI agent that answers it, and what it does with SMS."""

    friendly_name = serializers.CharField(required=False, allow_blank=True, max_length=64)
    call_flow = serializers.PrimaryKeyRelatedField(queryset=CallFlow.objects.all(), required=False, allow_null=True)
    agent = serializers.PrimaryKeyRelatedField(queryset=Agent.objects.all(), required=False, allow_null=True)
    auto_reply = serializers.CharField(required=False, allow_blank=True, max_length=1600)
    auto_reply_window_minutes = serializers.IntegerField(required=False, min_value=0, max_value=525_600)
    forward_url = serializers.URLField(required=False, allow_blank=True)
    forward_email = serializers.EmailField(required=False, allow_blank=True)
