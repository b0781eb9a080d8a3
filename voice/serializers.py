from rest_framework import serializers

from voice import templating
from voice.models import TEMPLATE_MAX_LENGTH, VoiceFile, VoiceMessage
from voice.selectors import voice_file_public_url


class VoiceMessageSerializer(serializers.ModelSerializer):
    variables = serializers.SerializerMethodField(help_text="Placeholders the template uses, in order.")
    audio_files = serializers.SerializerMethodField(help_text="Voice file names the template plays ({MP3~name}).")

    class Meta:
        model = VoiceMessage
        fields = [
            "id",
            "name",
            "template_text",
            "voice",
            "language",
            "rate",
            "message_type",
            "settings",
            "is_active",
            "voice_age",
            "tropo_voice",
            "variables",
            "audio_files",
            "deleted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "deleted_at", "created_at", "updated_at"]
        extra_kwargs = {"template_text": {"max_length": TEMPLATE_MAX_LENGTH}}
        # Uniqueness among live messages is checked by the service (the constraint is conditional).
        validators: list = []

    def get_variables(self, message: VoiceMessage) -> list[str]:
        return templating.placeholders(message.template_text)[0]

    def get_audio_files(self, message: VoiceMessage) -> list[str]:
        return templating.placeholders(message.template_text)[1]


class VoiceMessageFilterSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=VoiceMessage.Type.choices, required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(required=False, max_length=200)
    deleted = serializers.BooleanField(required=False, default=False)


class RenderRequestSerializer(serializers.Serializer):
    variables = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    mode = serializers.ChoiceField(choices=["strict", "lenient"], default="strict")

    def validate_variables(self, variables: dict) -> dict:
        for name, value in variables.items():
            if isinstance(value, (dict, list)):
                raise serializers.ValidationError(f"'{name}' must be a string, number or boolean.")
        return variables


class RenderResponseSerializer(serializers.Serializer):
    twiml = serializers.CharField()
    variables = serializers.ListField(child=serializers.CharField())
    missing_variables = serializers.ListField(child=serializers.CharField())
    missing_audio = serializers.ListField(child=serializers.CharField())


class VariablesSerializer(serializers.Serializer):
    variables = serializers.ListField(child=serializers.CharField())
    audio_files = serializers.ListField(child=serializers.CharField())


class VoiceFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Unguessable public URL Twilio plays the file from.")

    class Meta:
        model = VoiceFile
        fields = [
            "id",
            "name",
            "kind",
            "content_type",
            "size_bytes",
            "duration_seconds",
            "description",
            "tags",
            "caller_number",
            "url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "kind",
            "content_type",
            "size_bytes",
            "duration_seconds",
            "url",
            "created_at",
            "updated_at",
        ]

    def get_url(self, voice_file: VoiceFile) -> str:
        return voice_file_public_url(voice_file)


class VoiceFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    name = serializers.RegexField(
        r"^[\w.-]{1,100}$", help_text="Letters, digits, '.', '_' and '-'; used as {MP3~name}."
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list, max_length=50
    )
    caller_number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class VoiceFileUpdateSerializer(serializers.Serializer):
    name = serializers.RegexField(r"^[\w.-]{1,100}$", required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=50)
    caller_number = serializers.CharField(max_length=20, required=False, allow_blank=True)


class VoiceFileFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=VoiceFile.Kind.choices, required=False)
    tag = serializers.CharField(required=False, max_length=50)
    search = serializers.CharField(required=False, max_length=200)


class TwimlDocumentSerializer(serializers.Serializer):
    token = serializers.CharField(source="public_token")
    url = serializers.URLField(help_text="Where Twilio fetches this TwiML (signed requests only).")
    variables = serializers.DictField()
    xml = serializers.CharField()
    created_at = serializers.DateTimeField()
