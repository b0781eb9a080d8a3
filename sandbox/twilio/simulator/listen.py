"""What the caller says or keys in: <Gather> and <Record>.

<Gather> takes the script's next "digits" entry (input dtmf) or "speech" entry (input speech); with
input it requests its action (default: the current document's URL) with Digits (and FinishedOnKey)
or SpeechResult and Confidence and follows the answer; with none it goes on with the next verb,
unless actionOnEmptyResult="true". An empty entry ("") is a caller who keys in nothing that time.

<Record> makes a real WAV of the script's next "record_seconds" (capped at maxLength), then
requests its action (default: the current document's URL, which can loop, as on Twilio) with
RecordingUrl, RecordingSid, RecordingDuration and Digits: the finishing key (record_end "key"),
"hangup" (record_end "hangup": the call then ends and the action's TwiML is not run), or nothing
(record_end "timeout", or a recording cut at maxLength). A 0-second recording is empty: Twilio then
skips the action and goes on with the next verb.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from .recording import make_recording, send_recording_status, send_transcription
from .session import End, Session, Step, flag, integer, method_of, resolve
from .speak import SPOKEN

INPUT_SECONDS = 2  # how long the scripted caller takes to key in or say something
CONFIDENCE = "0.9"


def gather(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    for child in element:
        spoken = SPOKEN.get(child.tag)
        if spoken is None:
            session.notes.append(f"<{child.tag}> cannot be nested in <Gather>: ignored")
            continue
        spoken(session, child, document_url, "Gather")
    modes = set((element.get("input") or "dtmf").lower().split())
    action = resolve(document_url, element.get("action"))
    method = method_of(element)
    entry: dict[str, object] = {"verb": "Gather", "input": " ".join(sorted(modes)), "action": action}
    extra: dict[str, str] | None = None
    script = session.script
    if "dtmf" in modes and script.digits:
        digits, finished_on = _keyed(script.digits.popleft(), element)
        if digits:
            entry |= {"input": "dtmf", "digits": digits}
            extra = {"Digits": digits, "FinishedOnKey": finished_on}
    elif "speech" in modes and script.speech:
        speech = script.speech.popleft()
        if speech:
            entry |= {"input": "speech", "speech": speech, "confidence": float(CONFIDENCE)}
            extra = {"SpeechResult": speech, "Confidence": CONFIDENCE}
    session.transcript.append(entry)
    if extra is None:
        entry["timed_out"] = True
        session.tick(integer(element, "timeout", 5))
        if not flag(element, "actionOnEmptyResult", False):
            return None  # no input: on with the next verb, like Twilio
        return session.fetch("gather_action", action, method, session.params())
    session.tick(INPUT_SECONDS)
    return session.fetch("gather_action", action, method, session.params(**extra))


def _keyed(entry: str, element: ElementTree.Element) -> tuple[str, str]:
    """(the digits Twilio reports, the finishOnKey pressed or ""): cut at finishOnKey, then at numDigits."""
    finish_on_key = element.get("finishOnKey", "#")
    finished_on = ""
    for index, key in enumerate(entry):
        if finish_on_key and key in finish_on_key:
            entry, finished_on = entry[:index], key
            break
    num_digits = integer(element, "numDigits", 0)
    if num_digits > 0 and len(entry) >= num_digits:
        entry, finished_on = entry[:num_digits], ""
    return entry, finished_on


def record(session: Session, element: ElementTree.Element, document_url: str) -> Step:
    script = session.script
    action = resolve(document_url, element.get("action"))
    max_length = max(1, integer(element, "maxLength", 3600))
    silence = max(0, integer(element, "timeout", 5))
    seconds = int(script.record_seconds.next())
    beep = flag(element, "playBeep", True)
    session.tick(1 if beep else 0)
    if seconds <= 0:
        session.transcript.append({"verb": "Record", "recording_sid": None, "duration": 0, "empty": True})
        session.tick(silence)
        send_recording_status(session, element, document_url, None, "absent")
        return None  # an empty recording: no action request, on with the next verb
    ended_by = script.record_end
    finish_on_key = element.get("finishOnKey", "1234567890*#")
    if seconds >= max_length:
        seconds, ended_by = max_length, "max-length"
    elif ended_by == "key" and not finish_on_key:
        ended_by = "timeout"  # no key can end it: the caller's silence does
    made = make_recording(session, seconds, "RecordVerb", "inbound")
    session.tick(seconds + (silence if ended_by == "timeout" else 0))
    send_recording_status(session, element, document_url, made, "in-progress")
    extra = {
        "RecordingUrl": made.url,
        "RecordingSid": made.recording.sid,
        "RecordingDuration": str(seconds),
    }
    if ended_by == "key":
        extra["Digits"] = "#" if "#" in finish_on_key else finish_on_key[0]
    elif ended_by == "hangup":
        extra["Digits"] = "hangup"
    entry: dict[str, object] = {
        "verb": "Record",
        "recording_sid": made.recording.sid,
        "recording_url": made.url,
        "duration": seconds,
        "ended_by": ended_by,
        "play_beep": beep,
        "action": action,
    }
    session.transcript.append(entry)
    method = method_of(element)
    if ended_by == "hangup":
        # The caller has gone: Twilio still reports the recording to the action, and ignores its answer.
        session.hooks.send("record_action", action, method, session.params("completed", **extra))
        next_step: Step = End("completed", "caller-hangup")
    else:
        next_step = session.fetch("record_action", action, method, session.params(**extra))
    send_recording_status(session, element, document_url, made, "completed")
    transcription = send_transcription(session, element, document_url, made)
    if transcription:
        entry["transcription_sid"] = transcription
    return next_step
