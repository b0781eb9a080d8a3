"""The legacy template language, rendered to TwiML.

    Hello {name}                      the variable's value, as text
    {amount}~SSML~currency            the value inside <say-as interpret-as="currency">
                                      (also number, digits, phone -> telephone, date, time)
    {MP3~welcome}                     <Play> the tenant's voice file named "welcome" at that point

Values are data, never markup: they reach the XML only as escaped text. Parts keep the order
they are written in: text, then audio, then text gives <Say>, <Play>, <Say>.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from twilio.twiml.voice_response import Gather, Say, SsmlProsody, VoiceResponse

from config.errors import DomainError

_TOKEN = re.compile(
    r"\{(?:MP3~(?P<audio>[^{}]+)|(?P<variable>[A-Za-z_][A-Za-z0-9_]*))\}"
    r"(?:~SSML~(?P<say_as>currency|number|digits|phone|date|time|[A-Za-z]*))?"
)
# Characters XML 1.0 cannot carry at all; they are dropped rather than breaking the document.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

SAY_AS_TYPES = {
    "currency": "currency",
    "number": "number",
    "digits": "digits",
    "phone": "telephone",
    "date": "date",
    "time": "time",
}
RATES = {"slow": "slow", "medium": None, "fast": "fast"}


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    say_as: str | None  # an interpret-as value, or None for plain text


@dataclass(frozen=True, slots=True)
class Audio:
    name: str


Part = Text | Variable | Audio


class TemplateSyntaxError(ValueError):
    pass


class MissingValuesError(DomainError):
    """A strict render lacks values: 422 with each missing variable and voice file named on its field."""

    code = "missing-values"

    def __init__(self, variables: list[str], audio: list[str]) -> None:
        self.variables, self.audio = variables, audio
        parts = []
        errors = {}
        if variables:
            parts.append("variables " + ", ".join(variables))
            errors["variables"] = [f"Missing value for '{name}'." for name in variables]
        if audio:
            parts.append("voice files " + ", ".join(audio))
            errors["audio_files"] = [f"No voice file named '{name}'." for name in audio]
        super().__init__("Missing " + " and ".join(parts) + ".", errors=errors)


@dataclass(frozen=True)
class Rendered:
    twiml: str
    variables: list[str]
    missing_variables: list[str]
    missing_audio: list[str]


def xml_safe(value: str) -> str:
    return _NOT_XML.sub("", value)


@lru_cache(maxsize=4096)
def parse(template: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            parts.append(Text(template[position : match.start()]))
        say_as = match.group("say_as")
        if match.group("audio") is not None:
            if say_as:
                raise TemplateSyntaxError(f"Audio placeholder {match.group(0)!r} cannot be spoken with ~SSML~.")
            parts.append(Audio(match.group("audio").strip()))
        else:
            if say_as is not None and say_as not in SAY_AS_TYPES:
                allowed = ", ".join(SAY_AS_TYPES)
                raise TemplateSyntaxError(f"Unknown SSML type {say_as!r} in {match.group(0)!r}; use one of {allowed}.")
            parts.append(Variable(match.group("variable"), SAY_AS_TYPES.get(say_as) if say_as else None))
        position = match.end()
    if position < len(template):
        parts.append(Text(template[position:]))
    return tuple(parts)


@lru_cache(maxsize=4096)
def placeholders(template: str) -> tuple[list[str], list[str]]:
    """(variable names, audio file names) the template uses, each once, in order of first use."""
    parts = parse(template)
    variables = list(dict.fromkeys(part.name for part in parts if isinstance(part, Variable)))
    audio = list(dict.fromkeys(part.name for part in parts if isinstance(part, Audio)))
    return variables, audio


def render(
    template: str,
    variables: Mapping[str, Any],
    *,
    voice: str,
    language: str,
    rate: str = "medium",
    audio_urls: Mapping[str, str] | None = None,
    strict: bool = True,
    into: VoiceResponse | Gather | None = None,
) -> Rendered:
    """Strict mode raises MissingValuesError; lenient mode drops what is missing, as the legacy system did.
    `into`: the verbs are added to this document or <Gather> (a call flow's), instead of a new document."""
    audio_urls = audio_urls or {}
    names, audio_names = placeholders(template)
    missing_variables = [name for name in names if variables.get(name) is None]
    missing_audio = [name for name in audio_names if name not in audio_urls]
    if strict and (missing_variables or missing_audio):
        raise MissingValuesError(missing_variables, missing_audio)

    response = VoiceResponse() if into is None else into
    prosody_rate = RATES.get(rate)
    speech: Say | SsmlProsody | None = None  # where text goes: the open <Say>, or its <prosody>
    pending_text: list[str] = []

    def open_speech() -> Say | SsmlProsody:
        nonlocal speech
        if speech is None:
            say = response.say(voice=voice, language=language)
            speech = say.prosody(rate=prosody_rate) if prosody_rate else say
        return speech

    def flush_text() -> None:
        # twilio-python keeps one text slot per position: consecutive strings must be joined first.
        if pending_text:
            text = "".join(pending_text)
            pending_text.clear()
            if text.strip() or speech is not None:
                open_speech().append(text)

    for part in parse(template):
        if isinstance(part, Text):
            pending_text.append(xml_safe(part.text))
        elif isinstance(part, Variable):
            value = variables.get(part.name)
            if value is None:
                continue
            if part.say_as is None:
                pending_text.append(xml_safe(str(value)))
            else:
                flush_text()
                open_speech().say_as(xml_safe(str(value)), interpret_as=part.say_as)
        else:
            url = audio_urls.get(part.name)
            if url is None:
                continue
            flush_text()
            speech = None
            response.play(url)
    flush_text()
    return Rendered(
        twiml=response.to_xml(),
        variables=names,
        missing_variables=missing_variables,
        missing_audio=missing_audio,
    )


def render_text(template: str, variables: Mapping[str, Any], *, strict: bool = True) -> str:
    """The template as plain text (an SMS): say-as markers become the value, audio placeholders are left out.
    Strict mode raises MissingValuesError for a missing value; lenient mode leaves it out."""
    parts = []
    for part in parse(template):
        if isinstance(part, Text):
            parts.append(part.text)
        elif isinstance(part, Variable):
            value = variables.get(part.name)
            if value is None and strict:
                raise MissingValuesError([part.name], [])
            parts.append("" if value is None else str(value))
    return "".join(parts).strip()
