from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from telephony.models import Communication, SenderNumber
from telephony.phone_numbers import normalize_e164
from telephony.sms import MAX_CALL_TEXT, MAX_SMS_BODY
from voice.selectors import voice_message_sendable_list


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
        required=False,
        min_value=0.1,
        max_value=1000,
        label="Rate (messages/s)",
        help_text="Only for a number whose limit Twilio raised; otherwise its kind's rate applies.",
    )


class OptOutForm(forms.Form):
    phone_number = E164FormField(
        max_length=32, label="Number", widget=forms.TextInput(attrs={"placeholder": "+15551234567"})
    )


class VariablesField(forms.CharField):
    """`name=value`, one per line, for a template's placeholders."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "first_name=Ann\ntime=9:30"})

    def clean(self, value: Any) -> dict[str, str]:
        variables: dict[str, str] = {}
        for number, line in enumerate((super().clean(value) or "").splitlines(), start=1):
            if not line.strip():
                continue
            name, equals, text = line.partition("=")
            if not equals or not name.strip():
                raise ValidationError(f"Line {number}: write name=value.", code="invalid")
            variables[name.strip()] = text.strip()
        return variables


def verified_sender_choices() -> list[tuple[str, str]]:
    verified = SenderNumber.objects.filter(status=SenderNumber.Status.VERIFIED).order_by("-is_default", "phone_number")
    return [
        (sender.phone_number, sender.phone_number + (" (default)" if sender.is_default else "")) for sender in verified
    ]


class SendForm(forms.Form):
    """A single SMS or call from the portal; the same policies as the API apply when it is sent."""

    channel = forms.ChoiceField(choices=Communication.Channel.choices, initial=Communication.Channel.SMS, label="Type")
    to = E164FormField(max_length=32, widget=forms.TextInput(attrs={"placeholder": "+15551234567"}))
    from_number = forms.ChoiceField(required=False, label="From")
    body = forms.CharField(
        required=False,
        max_length=MAX_CALL_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Text",
        help_text="The SMS as written, or what the call says: a call's {placeholders} are filled from the variables.",
    )
    voice_message = forms.ModelChoiceField(
        queryset=voice_message_sendable_list(), required=False, label="Or a voice message"
    )
    variables = VariablesField(required=False)
    send_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Send at (UTC)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["from_number"]).choices = [
            ("", "the default sender"),
            *verified_sender_choices(),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("body") and data.get("voice_message"):
            self.add_error("voice_message", "Give the text or a voice message, not both.")
        if data.get("channel") == Communication.Channel.SMS and len(data.get("body") or "") > MAX_SMS_BODY:
            self.add_error("body", f"An SMS holds at most {MAX_SMS_BODY} characters.")
        return data


class CampaignForm(forms.Form):
    """A campaign from an uploaded list; the same checks as the API apply to every row."""

    name = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=Communication.Channel.choices, initial=Communication.Channel.SMS, label="Type")
    body = forms.CharField(
        required=False,
        max_length=MAX_CALL_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Text",
        help_text="The SMS as written, or what the calls say: a call's {placeholders} come from the list's columns.",
    )
    voice_message = forms.ModelChoiceField(
        queryset=voice_message_sendable_list(),
        required=False,
        label="Or a voice message",
        help_text="Its {placeholders} come from the list's columns.",
    )
    file = forms.FileField(
        label="Recipients (CSV)", help_text="A 'to' column with the numbers; every other column is a variable."
    )
    senders = forms.MultipleChoiceField(
        required=False,
        label="Send from",
        help_text="None chosen: the default sender. Several: each recipient keeps one of them.",
    )
    send_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Send at (UTC)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["senders"]).choices = verified_sender_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("body")) == bool(data.get("voice_message")):
            self.add_error("body", "Give the text or a voice message (one of them).")
        return data
