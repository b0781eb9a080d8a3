import json
from typing import Any

from django import forms

from voice.agents.models import AGENT_FIELDS, LLM_MODEL_SUGGESTIONS, Agent, ProviderCredential


class LinesField(forms.CharField):
    """A list of texts, typed one per line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class CustomFieldsField(forms.JSONField):
    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: Any) -> Any:
        return json.dumps(value, indent=1) if isinstance(value, list) else value


class AgentForm(forms.ModelForm):
    languages = LinesField(label="Other languages", help_text="One per line, like es-ES.")
    hints = LinesField(help_text="Words and names to listen for, one per line.")
    transfer_numbers = LinesField(help_text="Where a transfer to a human rings, E.164, one per line.")
    analysis_categories = LinesField(help_text="What a call may be filed under, one per line.")
    analysis_custom_fields = CustomFieldsField(
        required=False,
        initial=list,
        help_text='Extracted after each call: [{"name": "order_id", "description": "The order", "type": "string"}]',
    )

    class Meta:
        model = Agent
        fields = AGENT_FIELDS
        widgets = {
            "system_prompt": forms.Textarea(attrs={"rows": 8}),
            "greeting": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs={"rows": 2}),
            "transfer_rules": forms.Textarea(attrs={"rows": 3}),
            "temperature": forms.NumberInput(attrs={"step": "0.1", "min": "0", "max": "2"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        suggestions = ", ".join(
            f"{provider}: {' / '.join(names)}" for provider, names in LLM_MODEL_SUGGESTIONS.items() if names
        )
        self.fields["llm_model"].help_text = f"For example {suggestions}; Azure: your deployment's model."

    def clean_analysis_custom_fields(self) -> Any:
        return self.cleaned_data.get("analysis_custom_fields") or []

    def config_fields(self) -> dict[str, Any]:
        # What the model's own clean() normalised (transfer numbers in E.164) is on the instance.
        return {name: getattr(self.instance, name) for name in AGENT_FIELDS}


class ProviderCredentialForm(forms.ModelForm):
    api_key = forms.CharField(
        widget=forms.PasswordInput(render_value=False), help_text="Stored encrypted; only its last 4 are shown."
    )

    class Meta:
        model = ProviderCredential
        fields = ["provider", "api_key", "base_url", "azure_endpoint", "azure_deployment", "azure_api_version"]

    def validate_unique(self) -> None:
        """A key for a provider that has one replaces it (services.provider_credential_save)."""
