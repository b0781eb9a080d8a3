"""The table of TwiML voice verbs the simulator runs, and the verbs that only steer: Redirect, Hangup, Reject.

Anything not in VERBS (<Leave>, <Enqueue>, <Pay>, <Message> in a call, ...) is written to
the transcript as ignored and the next verb runs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from .dial import connect, dial
from .listen import gather, record
from .recording import start
from .session import End, Session, Step, Verb, method_of, resolve
from .speak import pause, play, say


def redirect(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    target = (element.text or "").strip()
    method = method_of(element)
    if not target:
        session.transcript.append({"verb": "Redirect", "url": None, "method": method})
        session.error = {"code": 12100, "message": "<Redirect> without a URL", "url": document_url}
        return End("completed" if session.answered else "failed", "error")
    url = resolve(document_url, target)
    session.transcript.append({"verb": "Redirect", "url": url, "method": method})
    return session.fetch("redirect", url, method, session.params())


def hangup(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    session.transcript.append({"verb": "Hangup"})
    return End("completed", "hangup")


def reject(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    """Before the call is answered: busy (reason="busy") or no-answer (reason="rejected", the default), unbilled.

    After it was answered (Twilio only honours <Reject> as the first verb) it just hangs up."""
    reason = element.get("reason") or "rejected"
    session.transcript.append({"verb": "Reject", "reason": reason})
    if session.answered:
        session.notes.append("<Reject> after the call was answered hangs up")
        return End("completed", "hangup")
    return End("busy" if reason == "busy" else "no-answer", "rejected")


def _say(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    return say(session, element, document_url)


def _play(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    return play(session, element, document_url)


def _pause(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    return pause(session, element, document_url)


def _start(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    start(session, element, document_url)
    return None


VERBS: dict[str, Verb] = {
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Gather": gather,
    "Record": record,
    "Dial": dial,
    "Connect": connect,
    "Redirect": redirect,
    "Hangup": hangup,
    "Reject": reject,
    "Start": _start,
}
