"""What an uploaded voice file really is, decided by its content rather than its name."""

import io
from dataclasses import dataclass
from typing import IO, Protocol, cast

import defusedxml.ElementTree as SafeET
import mutagen
from defusedxml import DefusedXmlException
from django.core.exceptions import ValidationError
from mutagen import FileType
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.wave import WAVE

from voice.models import VoiceFile

CONTENT_TYPES = {
    VoiceFile.Kind.MP3: "audio/mpeg",
    VoiceFile.Kind.WAV: "audio/wav",
    VoiceFile.Kind.M4A: "audio/mp4",
    VoiceFile.Kind.TWIML: "application/xml",
}


@dataclass(frozen=True)
class Inspection:
    kind: str
    content_type: str
    duration_seconds: float | None


def _sniff(head: bytes) -> VoiceFile.Kind | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return VoiceFile.Kind.WAV
    if head[4:8] == b"ftyp":
        return VoiceFile.Kind.M4A
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return VoiceFile.Kind.MP3
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return VoiceFile.Kind.TWIML
    return None


def _inspect_twiml(data: bytes) -> None:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ValidationError("The XML file uses DTDs or entities, which are not allowed.", code="unsafe_xml") from exc
    except SafeET.ParseError as exc:
        raise ValidationError(f"The XML file is not well-formed: {exc}.", code="invalid_xml") from exc
    if root.tag != "Response":
        raise ValidationError(f"A TwiML document must have <Response> as its root, not <{root.tag}>.", code="not_twiml")


class _StreamInfo(Protocol):
    length: float  # seconds


def _stream_length(audio: FileType) -> float:
    # mutagen declares FileType.info as None; a loaded file holds its format's StreamInfo there
    # (MPEGInfo, WaveStreamInfo, MP4Info), and each of those has a length.
    return cast(_StreamInfo, audio.info).length


def _inspect_audio(kind: VoiceFile.Kind, data: bytes) -> float:
    expected = {VoiceFile.Kind.MP3: MP3, VoiceFile.Kind.WAV: WAVE, VoiceFile.Kind.M4A: MP4}[kind]
    try:
        audio = mutagen.File(io.BytesIO(data))
    except mutagen.MutagenError as exc:
        raise ValidationError(f"The {kind} file cannot be read as audio: {exc}.", code="invalid_audio") from exc
    if not isinstance(audio, expected) or not _stream_length(audio):
        raise ValidationError(f"The file looks like {kind} but holds no playable {kind} audio.", code="invalid_audio")
    return round(float(_stream_length(audio)), 3)


def inspect_upload(stream: IO[bytes]) -> Inspection:
    """Raises ValidationError for anything that is not mp3, wav, m4a audio or a TwiML <Response> document."""
    stream.seek(0)
    data = stream.read()
    stream.seek(0)
    kind = _sniff(data[:16])
    if kind is None:
        raise ValidationError(
            "Unsupported file: upload mp3, wav or m4a audio, or a TwiML XML document.", code="unsupported_type"
        )
    if kind == VoiceFile.Kind.TWIML:
        _inspect_twiml(data)
        return Inspection(kind=kind, content_type=CONTENT_TYPES[kind], duration_seconds=None)
    duration = _inspect_audio(kind, data)
    return Inspection(kind=kind, content_type=CONTENT_TYPES[kind], duration_seconds=duration)
