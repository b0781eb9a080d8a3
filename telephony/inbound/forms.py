from typing import Any, cast

from django import forms

from telephony.inbound.models import CALL_FLOW_FIELDS, CallFlow, InboundSettings, NumberSettings
from telephony.phone_numbers import normalize_e164
from telephony.sms import MAX_SMS_BODY
from voice.selectors import voice_message_sendable_list


class JsonField(forms.JSONField):
    widget = forms.Textarea(attrs={"rows": 2})


class CallFlowForm(forms.ModelForm):
    hours = JsonField(required=False, initial=dict)
    holidays = JsonField(required=False, initial=list)
    options = JsonField(required=False, initial=dict)

    class Meta:
        model = CallFlow
        fields = CALL_FLOW_FIELDS
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["voice_message"]).queryset = voice_message_sendable_list()
        others = CallFlow.objects.exclude(pk=self.instance.pk) if self.instance.pk else CallFlow.objects.all()
        for name in ("open_flow", "next_flow"):
            cast(forms.ModelChoiceField, self.fields[name]).queryset = others

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name, empty in (("hours", {}), ("holidays", []), ("options", {})):
            if data.get(name) in (None, ""):
                data[name] = empty
                setattr(self.instance, name, empty)
        return data


class NumberSettingsForm(forms.ModelForm):
    class Meta:
        model = NumberSettings
        fields = [
            "call_flow",
            "agent",
            "auto_reply",
            "auto_reply_window_minutes",
            "forward_url",
            "forward_email",
            "fallback_message",
            "fallback_forward_to",
        ]
        widgets = {"auto_reply": forms.Textarea(attrs={"rows": 2})}

    def clean_fallback_forward_to(self) -> str:
        number = self.cleaned_data["fallback_forward_to"]
        return normalize_e164(number) if number else ""


class InboundSettingsForm(forms.ModelForm):
    class Meta:
        model = InboundSettings
        fields = ["time_zone", "help_text", "recording_retention_days"]


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=MAX_SMS_BODY, widget=forms.Textarea(attrs={"rows": 2}), label="Reply")
