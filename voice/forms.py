from django import forms

from voice.models import VoiceMessage
from voice.voices import voice_choices


class VoiceMessageForm(forms.ModelForm):
    voice = forms.ChoiceField(choices=voice_choices)

    class Meta:
        model = VoiceMessage
        fields = ["name", "message_type", "template_text", "voice", "language", "rate", "is_active"]
        widgets = {"template_text": forms.Textarea(attrs={"rows": 6})}


class VoiceFileUploadForm(forms.Form):
    file = forms.FileField()
    name = forms.RegexField(r"^[\w.-]{1,100}$", help_text="Used as {MP3~name} in templates.")
    description = forms.CharField(max_length=500, required=False)
    tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated.")
    caller_number = forms.CharField(max_length=20, required=False, help_text="E.164, e.g. +15551234567.")
