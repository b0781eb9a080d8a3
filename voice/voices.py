"""Twilio <Say> voices a voice message may use. Update this list when Twilio adds voices.

Source: Twilio's text-to-speech voice list (legacy voices, Amazon Polly standard/neural/generative,
Google standard/WaveNet/Neural2/Chirp3-HD). Legacy voices are kept so old content still validates.
"""

import re

LEGACY_VOICES = ("alice", "man", "woman")

_POLLY = {
    "en-US": [
        "Ivy",
        "Joanna",
        "Kendra",
        "Kimberly",
        "Salli",
        "Joey",
        "Justin",
        "Kevin",
        "Matthew",
        "Ruth",
        "Stephen",
        "Danielle",
        "Gregory",
    ],
    "en-GB": ["Amy", "Emma", "Brian", "Arthur"],
    "en-AU": ["Nicole", "Olivia", "Russell"],
    "en-IN": ["Aditi", "Raveena", "Kajal"],
    "en-GB-WLS": ["Geraint"],
    "es-ES": ["Conchita", "Lucia", "Enrique", "Sergio"],
    "es-MX": ["Mia", "Andres"],
    "es-US": ["Lupe", "Penelope", "Miguel", "Pedro"],
    "fr-FR": ["Celine", "Lea", "Mathieu", "Remi"],
    "fr-CA": ["Chantal", "Gabrielle", "Liam"],
    "de-DE": ["Marlene", "Vicki", "Hans", "Daniel"],
    "it-IT": ["Carla", "Bianca", "Giorgio", "Adriano"],
    "pt-BR": ["Camila", "Vitoria", "Ricardo", "Thiago"],
    "pt-PT": ["Ines", "Cristiano"],
    "nl-NL": ["Lotte", "Ruben", "Laura"],
    "ja-JP": ["Mizuki", "Takumi", "Kazuha", "Tomoko"],
}
_POLLY_ENGINE_SUFFIXES = ("", "-Neural", "-Generative")

_GOOGLE_LOCALES = [
    "en-US",
    "en-GB",
    "en-AU",
    "en-IN",
    "es-ES",
    "es-US",
    "fr-FR",
    "fr-CA",
    "de-DE",
    "it-IT",
    "pt-BR",
    "nl-NL",
    "ja-JP",
]
_GOOGLE_FAMILIES = {"Standard": "ABCDEFGHIJ", "Wavenet": "ABCDEFGHIJ", "Neural2": "ABCDEFGHIJ"}
_GOOGLE_CHIRP3_HD = ["Aoede", "Charon", "Fenrir", "Kore", "Leda", "Orus", "Puck", "Zephyr"]


def _build() -> frozenset[str]:
    voices = set(LEGACY_VOICES)
    for names in _POLLY.values():
        for name in names:
            voices.update(f"Polly.{name}{suffix}" for suffix in _POLLY_ENGINE_SUFFIXES)
    for locale in _GOOGLE_LOCALES:
        for family, letters in _GOOGLE_FAMILIES.items():
            voices.update(f"Google.{locale}-{family}-{letter}" for letter in letters)
        voices.update(f"Google.{locale}-Chirp3-HD-{name}" for name in _GOOGLE_CHIRP3_HD)
    return frozenset(voices)


SUPPORTED_VOICES = _build()
DEFAULT_VOICE = "Polly.Joanna-Neural"

# The old desktop system's voices, mapped to current neural voices of the same gender.
LEGACY_VOICE_MAP = {
    "alice": "Polly.Joanna-Neural",
    "woman": "Polly.Salli-Neural",
    "man": "Polly.Matthew-Neural",
    "bob": "Polly.Joey-Neural",
}

LANGUAGE_PATTERN = re.compile(r"^[a-z]{2}-[A-Z]{2}$")  # what <Say language=...> accepts


def voice_choices() -> list[tuple[str, str]]:
    return [(voice, voice) for voice in sorted(SUPPORTED_VOICES)]
