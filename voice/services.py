import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from twilio.twiml.voice_response import Gather, VoiceResponse

from telephony.phone_numbers import normalize_e164
from voice import templating
from voice.audio import inspect_upload
from voice.models import TwimlDocument, VoiceFile, VoiceMessage
from voice.selectors import audio_urls_for

_COPY_SUFFIX = re.compile(r"^(?P<base>.*) \((?P<number>\d+)\)$")


class FileTooLargeError(ValidationError):
    pass


class FileContentError(ValidationError):
    """The upload is not audio or TwiML we can use, whatever its name says."""


def _save(instance: VoiceMessage | VoiceFile, *, unique_field_message: str) -> None:
    # Name uniqueness is left to the database: its conditional constraint is the one source of truth.
    instance.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ValidationError({"name": [unique_field_message]}) from exc


def voice_message_create(*, name: str, template_text: str, **fields: Any) -> VoiceMessage:
    message = VoiceMessage(name=name, template_text=template_text, **fields)
    _save(message, unique_field_message="A voice message with this name already exists.")
    return message


def voice_message_update(*, message: VoiceMessage, **fields: Any) -> VoiceMessage:
    for field, value in fields.items():
        setattr(message, field, value)
    _save(message, unique_field_message="A voice message with this name already exists.")
    return message


def voice_message_delete(*, message: VoiceMessage, hard: bool = False) -> None:
    if hard:
        message.delete()
    else:
        message.deleted_at = timezone.now()
        message.save(update_fields=["deleted_at", "updated_at"])


def voice_message_restore(*, message: VoiceMessage) -> VoiceMessage:
    if VoiceMessage.objects.alive().filter(name=message.name).exists():
        raise ValidationError({"name": [f"Another voice message is now called '{message.name}'; rename it first."]})
    message.deleted_at = None
    message.save(update_fields=["deleted_at", "updated_at"])
    return message


def _copy_name(name: str) -> str:
    base = f"Copy of {name}"
    taken = set(VoiceMessage.objects.alive().filter(name__startswith=base).values_list("name", flat=True))
    if base not in taken:
        return base
    numbers = [int(m.group("number")) for n in taken if (m := _COPY_SUFFIX.match(n)) and m.group("base") == base]
    return f"{base} ({max(numbers, default=1) + 1})"


def voice_message_duplicate(*, message: VoiceMessage) -> VoiceMessage:
    copy = VoiceMessage(
        name=_copy_name(message.name),
        template_text=message.template_text,
        voice=message.voice,
        language=message.language,
        rate=message.rate,
        message_type=message.message_type,
        settings=dict(message.settings),
        is_active=message.is_active,
        voice_age=message.voice_age,
        tropo_voice=message.tropo_voice,
        legacy_voice=message.legacy_voice,
    )
    _save(copy, unique_field_message="A voice message with this name already exists; try again.")
    return copy


def voice_message_render(
    *,
    message: VoiceMessage,
    variables: Mapping[str, Any],
    strict: bool = True,
    into: VoiceResponse | Gather | None = None,
) -> templating.Rendered:
    _, audio_names = templating.placeholders(message.template_text)
    return templating.render(
        message.template_text,
        variables,
        voice=message.voice,
        language=message.language,
        rate=message.rate,
        audio_urls=audio_urls_for(audio_names),
        strict=strict,
        into=into,
    )


def twiml_document_create(*, message: VoiceMessage, variables: Mapping[str, Any], strict: bool = True) -> TwimlDocument:
    rendered = voice_message_render(message=message, variables=variables, strict=strict)
    used = {name: variables[name] for name in rendered.variables if name in variables}
    return TwimlDocument.objects.create(message=message, variables=used, xml=rendered.twiml)


def _e164_caller_number(number: str) -> str:
    try:
        return normalize_e164(number) if number else ""
    except ValidationError as exc:
        raise ValidationError({"caller_number": exc.messages}) from exc


def _clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))


def voice_file_create(
    *,
    upload: IO[bytes],
    filename: str,
    name: str,
    description: str = "",
    tags: list[str] | None = None,
    caller_number: str = "",
) -> VoiceFile:
    size = upload.size if hasattr(upload, "size") else len(upload.read())
    if size > settings.VOICE_FILE_MAX_BYTES:
        raise FileTooLargeError(
            {"file": [f"The file is {size} bytes; the limit is {settings.VOICE_FILE_MAX_BYTES} bytes."]},
            code="too_large",
        )
    try:
        inspection = inspect_upload(upload)
    except ValidationError as exc:
        raise FileContentError({"file": exc.messages}) from exc
    voice_file = VoiceFile(
        name=name,
        kind=inspection.kind,
        content_type=inspection.content_type,
        size_bytes=size,
        duration_seconds=inspection.duration_seconds,
        description=description,
        tags=_clean_tags(tags or []),
        caller_number=_e164_caller_number(caller_number),
    )
    stem = slugify(filename.rsplit(".", 1)[0])[:60] or "voice-file"
    voice_file.file.save(f"{stem}.{inspection.kind}", File(upload), save=False)
    try:
        _save(voice_file, unique_field_message="A voice file with this name already exists.")
    except ValidationError:
        voice_file.file.delete(save=False)
        raise
    return voice_file


def voice_file_update(*, voice_file: VoiceFile, **fields: Any) -> VoiceFile:
    if "caller_number" in fields:
        fields["caller_number"] = _e164_caller_number(fields["caller_number"])
    if "tags" in fields:
        fields["tags"] = _clean_tags(fields["tags"])
    for field, value in fields.items():
        setattr(voice_file, field, value)
    _save(voice_file, unique_field_message="A voice file with this name already exists.")
    return voice_file


def voice_file_delete(*, voice_file: VoiceFile) -> None:
    stored = voice_file.file
    voice_file.delete()
    transaction.on_commit(lambda: stored.delete(save=False))
