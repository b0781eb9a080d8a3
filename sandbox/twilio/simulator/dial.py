"""Connecting the caller elsewhere: <Dial> and <Connect>.

<Dial> places no real second call. The script's next "dial" entry says what the dialed party does:
answer (DialCallStatus completed, after dial_seconds of talk), no-answer (after the Dial's timeout),
busy or failed. Then, like Twilio, the action (if any) is requested with DialCallStatus, DialCallSid,
DialCallDuration and DialBridged, and the call follows its answer. Without an action an unanswered
Dial goes on with the next verb, and an answered one ends the call (the caller hung up on the bridged
call). ``dial_hangup`` makes who hangs up explicit: "caller" (the action is still requested, its answer
ignored, and the call ends) or "callee" (the caller stays on the line: the action, else the next verb).
record="record-from-answer" (or -ringing, -dual, "true") records an answered Dial (source DialVerb).
An answered <Number url=...> first fetches that TwiML for the callee (a whisper): its <Say>s are the
entry's "whisper".

<Connect> (ConversationRelay, Stream, ...) is written to the transcript with its nouns, their
attributes and <Parameter>s. When the script has a "conversation", a <ConversationRelay> is then talked
to (see relay.py: the script against the application's WebSocket); otherwise the noun (any noun) lasts
connect_seconds, unsimulated. Then the action (if any) is requested and followed, else the next verb runs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from .. import numbers
from ..ids import new_sid
from .recording import Made, make_recording, send_recording_status
from .relay import conversation_relay
from .session import End, Session, Step, integer, method_of, resolve

DIAL_STATUS = {"answer": "completed", "no-answer": "no-answer", "busy": "busy", "failed": "failed"}
_NOUNS = ("Number", "Client", "Sip", "Conference", "Queue", "Application")


def dial(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    script = session.script
    targets = [{"noun": child.tag, "target": (child.text or "").strip()} for child in element if child.tag in _NOUNS]
    text = (element.text or "").strip()
    if not targets and text:
        targets = [{"noun": "Number", "target": text}]
    for target in targets:
        if target["noun"] == "Number":
            target["target"] = numbers.normalize(target["target"]) or target["target"]
    outcome = str(script.dial.next())
    status = DIAL_STATUS[outcome]
    timeout = max(1, integer(element, "timeout", 30))
    dial_sid = new_sid("CA")
    talk = script.dial_seconds if status == "completed" else 0
    session.tick({"completed": 2 + talk, "no-answer": timeout, "busy": 2}.get(status, 1))
    entry: dict[str, object] = {
        "verb": "Dial",
        "number": targets[0]["target"] if targets else None,
        "targets": targets,
        "caller_id": element.get("callerId") or session.caller,
        "timeout": timeout,
        "outcome": outcome,
        "dial_call_status": status,
        "dial_call_sid": dial_sid,
        "duration": talk,
    }
    session.transcript.append(entry)
    if status == "completed":
        entry["whisper"] = _whisper(session, element, document_url, dial_sid)
    extra = {"DialCallStatus": status, "DialCallSid": dial_sid, "DialBridged": str(status == "completed").lower()}
    made: Made | None = None
    if status == "completed":
        extra["DialCallDuration"] = str(talk)
        record = (element.get("record") or "do-not-record").lower()
        if talk > 0 and (record.startswith("record-from-") or record == "true"):
            made = make_recording(session, talk, "DialVerb", "both", 2 if record.endswith("-dual") else 1)
            entry["recording_sid"] = made.recording.sid
            extra |= {"RecordingUrl": made.url, "RecordingSid": made.recording.sid, "RecordingDuration": str(talk)}
            send_recording_status(session, element, document_url, made, "in-progress")
    action = element.get("action")
    method = method_of(element)
    hangup = script.dial_hangup
    step: Step = None
    if status == "completed" and hangup == "caller":
        if action:
            params = session.params("completed", **extra)
            session.hooks.send("dial_action", resolve(document_url, action), method, params)
        step = End("completed", "caller-hangup")
    elif action:
        step = session.fetch("dial_action", resolve(document_url, action), method, session.params(**extra))
    elif status == "completed" and hangup is None:
        step = End("completed", "dial-completed")
    if made is not None:
        send_recording_status(session, element, document_url, made, "completed")
    return step


def _whisper(session: Session, element: ElementTree.Element, document_url: str, dial_sid: str) -> list[str]:
    """What the answering party hears first: the <Number url> TwiML's <Say>s (Twilio runs it on their leg)."""
    number = element.find("Number")
    url = number.get("url") if number is not None else None
    if number is None or not url:
        return []
    params = session.params("in-progress", CallSid=dial_sid, ParentCallSid=session.call_sid, Direction="outbound-dial")
    twiml, _ = session.hooks.twiml("dial_number_url", resolve(document_url, url), method_of(number), params)
    if twiml is None:
        return []
    return [(say.text or "").strip() for say in ElementTree.fromstring(twiml.strip()).iter("Say")]


def connect(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    children = [
        {
            "noun": child.tag,
            "attributes": dict(child.attrib),
            "parameters": {p.get("name", ""): p.get("value", "") for p in child.iter("Parameter")},
            "text": (child.text or "").strip() or None,
        }
        for child in element
    ]
    session.transcript.append({"verb": "Connect", "attributes": dict(element.attrib), "children": children})
    relay = element.find("ConversationRelay")
    if relay is not None and session.script.conversation:
        return conversation_relay(session, element, relay, document_url)
    session.notes.append("<Connect> recorded; the live session is not simulated")
    session.tick(session.script.connect_seconds)
    action = element.get("action")
    if not action:
        return None
    return session.fetch("connect_action", resolve(document_url, action), method_of(element), session.params())
