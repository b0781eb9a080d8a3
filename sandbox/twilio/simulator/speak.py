"""What the caller hears: <Say>, <Play>, <Pause>. Simulated time only: nothing sleeps, nothing is fetched."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree

from .session import Session, Step, integer

WORDS_PER_SECOND = 2.5  # roughly how fast text-to-speech talks
PLAY_SECONDS = 5  # the sandbox does not fetch audio: every <Play> is taken to last this long
DIGIT_SECONDS = 0.5  # one DTMF tone of <Play digits>, or one "w" (half a second's wait)


def say(session: Session, element: ElementTree.Element, document_url: str, within: str | None = None) -> Step:
    text = re.sub(r"\s+", " ", "".join(element.itertext())).strip()  # SSML children are spoken too
    loop = integer(element, "loop", 1)
    entry: dict[str, object] = {
        "verb": "Say",
        "text": text,
        "voice": element.get("voice"),
        "language": element.get("language"),
    }
    if loop != 1:
        entry["loop"] = loop
    if within:
        entry["in"] = within
    session.transcript.append(entry)
    seconds = max(1, math.ceil(len(text.split()) / WORDS_PER_SECOND))
    if loop <= 0:
        # loop="0": Twilio repeats until the call ends; the sandbox says it once and lets the clock run out.
        session.heard.append(text)
        session.notes.append('<Say loop="0"> repeats until the call ends')
        session.tick(session.script.max_seconds)
        return None
    session.heard.extend([text] * min(loop, 1000))
    session.tick(seconds * loop)
    return None


def play(session: Session, element: ElementTree.Element, document_url: str, within: str | None = None) -> Step:
    digits = element.get("digits")
    loop = integer(element, "loop", 1)
    entry: dict[str, object] = {
        "verb": "Play",
        "url": (element.text or "").strip() or None,
        "loop": loop,
        "digits": digits,
    }
    if within:
        entry["in"] = within
    session.transcript.append(entry)
    if digits:
        session.tick(len(digits) * DIGIT_SECONDS)
    elif loop <= 0:
        session.notes.append('<Play loop="0"> repeats until the call ends')
        session.tick(session.script.max_seconds)
    else:
        session.tick(PLAY_SECONDS * loop)
    return None


def pause(session: Session, element: ElementTree.Element, document_url: str, within: str | None = None) -> Step:
    length = max(0, integer(element, "length", 1))
    entry: dict[str, object] = {"verb": "Pause", "length": length}
    if within:
        entry["in"] = within
    session.transcript.append(entry)
    session.tick(length)
    return None


SPOKEN = {"Say": say, "Play": play, "Pause": pause}
