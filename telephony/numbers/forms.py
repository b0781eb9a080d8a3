from django import forms

from telephony.inbound.models import CallFlow
from telephony.numbers.models import PhoneNumber
from telephony.numbers.validators import validate_area_code
from voice.agents.models import Agent

_TRISTATE = [("", "Any"), ("true", "Yes"), ("false", "No")]


class NumberSearchForm(forms.Form):
    """The portal's search of what Twilio has for sale: the same filters as GET /api/v1/numbers/available/."""

    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$", initial="US", max_length=2, error_messages={"invalid": "A two-letter country code."}
    )
    type = forms.ChoiceField(choices=PhoneNumber.NumberType.choices, initial=PhoneNumber.NumberType.LOCAL)
    area_code = forms.CharField(required=False, validators=[validate_area_code])
    contains = forms.RegexField(
        regex=r"^[0-9A-Za-z*]{2,16}$",
        required=False,
        help_text="Digits, letters (keypad) or * for any digit.",
        error_messages={"invalid": "2 to 16 digits, letters or *."},
    )
    sms = forms.ChoiceField(choices=_TRISTATE, required=False, label="SMS")
    voice = forms.ChoiceField(choices=_TRISTATE, required=False)

    def query(self) -> dict[str, object]:
        data = self.cleaned_data
        query: dict[str, object] = {"country": data["country"].upper(), "type": data["type"], "limit": 20}
        for name in ("area_code", "contains"):
            if data.get(name):
                query[name] = data[name]
        for name in ("sms", "voice"):
            if data.get(name):
                query[name] = data[name] == "true"
        return query


class NumberBuyForm(forms.Form):
    phone_number = forms.CharField(max_length=32)
    type = forms.ChoiceField(choices=PhoneNumber.NumberType.choices, initial=PhoneNumber.NumberType.LOCAL)


class NumberEditForm(forms.Form):
    friendly_name = forms.CharField(max_length=64, required=False)
    call_flow = forms.ModelChoiceField(queryset=CallFlow.objects.all(), required=False, help_text="What calls hear.")
    agent = forms.ModelChoiceField(
        queryset=Agent.objects.all(), required=False, help_text="The AI agent that answers (an AI agent call flow)."
    )
    auto_reply = forms.CharField(widget=forms.Textarea, max_length=1600, required=False, help_text="Sent to texters.")
