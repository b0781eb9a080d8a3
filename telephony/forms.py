from typing import Any

from django import forms

from telephony.models import SenderNumber
from telephony.phone_numbers import normalize_e164


class E164FormField(forms.CharField):
    """A phone number in any common writing, cleaned to E.164; anything else is the field's error."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        return normalize_e164(value) if value else value


class SenderNumberForm(forms.Form):
    phone_number = E164FormField(max_length=32, widget=forms.TextInput(attrs={"placeholder": "+15551234567"}))
    kind = forms.ChoiceField(choices=SenderNumber.Kind.choices, initial=SenderNumber.Kind.LONG_CODE)
    is_default = forms.BooleanField(required=False, label="Default sender")
    messages_per_second = forms.FloatField(
        required=False, min_value=0.1, max_value=1000, label="Rate (messages/s)",
        help_text="Only for a number whose limit Twilio raised; otherwise its kind's rate applies.",
    )
