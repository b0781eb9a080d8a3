from typing import Any, cast

from django import forms

from telephony.forms import E164FormField, VariablesField, verified_sender_choices
from voice.agents.models import Agent


class AgentCallForm(forms.Form):
    """An outbound AI call from the portal; the same checks as POST /api/v1/agents/{id}/calls/ apply."""

    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), empty_label=None)
    name = forms.CharField(max_length=200, required=False)
    phone = E164FormField(max_length=32, widget=forms.TextInput(attrs={"placeholder": "+15551234567"}))
    email = forms.EmailField(required=False)
    variables = VariablesField(required=False, help_text="What the agent may know about the contact, for its prompt.")
    from_number = forms.ChoiceField(required=False, label="From")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agents = Agent.objects.exclude(kind=Agent.Kind.INBOUND).order_by("name")
        cast(forms.ModelChoiceField, self.fields["agent"]).queryset = agents
        cast(forms.ChoiceField, self.fields["from_number"]).choices = [
            ("", "the default sender"),
            *verified_sender_choices(),
        ]
