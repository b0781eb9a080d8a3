from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from voice.agents.models import AGENT_FIELDS, Agent, AgentVersion, ProviderCredential
from voice.agents.services import agent_validate


def _texts(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(allow_blank=True), required=False, help_text=help_text)


class AgentSerializer(serializers.ModelSerializer):
    languages = _texts("Other languages the agent may switch to, like es-ES.")
    hints = _texts("Words and names the transcription should listen for.")
    transfer_numbers = _texts("Where a transfer to a human rings, E.164.")
    analysis_categories = _texts("What a call may be filed under by the analysis.")
    analysis_custom_fields = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)),
        required=False,
        help_text='Extracted after each call: [{"name": "order_id", "description": "...", "type": "string"}].',
    )
    is_default = serializers.BooleanField(
        required=False, help_text="Answers your numbers that name no agent (only one agent is the default)."
    )

    class Meta:
        model = Agent
        fields = ["id", *AGENT_FIELDS, "is_default", "version", "created_at", "updated_at"]
        read_only_fields = ["id", "version", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The agent's own rules (Agent.clean and its fields' rules), as field errors, before anything is saved."""
        config_fields = {name: value for name, value in attrs.items() if name in AGENT_FIELDS}
        current = {name: getattr(self.instance, name) for name in AGENT_FIELDS} if self.instance else {}
        agent = Agent(**{**current, **config_fields})
        try:
            agent_validate(agent)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        if "transfer_numbers" in attrs:
            attrs["transfer_numbers"] = agent.transfer_numbers  # normalised to E.164
        return attrs


class AgentVersionSerializer(serializers.ModelSerializer):
    config = serializers.JSONField(help_text="The whole configuration calls of this version ran with.")

    class Meta:
        model = AgentVersion
        fields = ["number", "config", "created_at", "created_by"]
        read_only_fields = fields


class AgentVersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentVersion
        fields = ["number", "created_at", "created_by"]
        read_only_fields = fields


class ProviderCredentialSerializer(serializers.ModelSerializer):
    api_key = serializers.CharField(
        write_only=True, trim_whitespace=True, help_text="Stored encrypted; never shown again (only its last 4)."
    )

    class Meta:
        model = ProviderCredential
        fields = [
            "provider",
            "api_key",
            "last4",
            "base_url",
            "azure_endpoint",
            "azure_deployment",
            "azure_api_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["last4", "created_at", "updated_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "provider": {"validators": []}
        }  # creating a key for a provider replaces the one there

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        credential = ProviderCredential(**attrs)
        try:
            credential.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs
