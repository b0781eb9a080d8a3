from django.core.exceptions import ValidationError

from voice.templating import TemplateSyntaxError, parse
from voice.voices import LANGUAGE_PATTERN, SUPPORTED_VOICES


def validate_voice(voice: str) -> None:
    if voice not in SUPPORTED_VOICES:
        raise ValidationError(
            f"'{voice}' is not a supported voice. Use alice, man, woman, or a Polly./Google. voice name "
            "such as Polly.Joanna-Neural.",
            code="invalid_voice",
        )


def validate_language(language: str) -> None:
    if not LANGUAGE_PATTERN.match(language):
        raise ValidationError("Use a language tag like en-US.", code="invalid_language")


def validate_template(template: str) -> None:
    try:
        parse(template)
    except TemplateSyntaxError as exc:
        raise ValidationError(str(exc), code="invalid_template") from exc
