"""Recordings a simulated call makes (<Record>, <Dial record>, <Start><Recording>): the resource, its WAV, its
callbacks. A recording <Start> begins runs to the end of the call (stop_recordings), RecordingSource
StartCallRecordingTwiML.

The recording status callback carries what Twilio's does: AccountSid, CallSid, RecordingSid,
RecordingUrl, RecordingStatus, RecordingDuration, RecordingChannels, RecordingSource,
RecordingStartTime (and ErrorCode=0). recordingStatusCallbackEvent chooses the events ("in-progress",
"completed", "absent"; default "completed"). A transcription (<Record transcribe="true">) is POSTed to
transcribeCallback with TranscriptionSid, TranscriptionText, TranscriptionStatus, TranscriptionUrl.
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from ..ids import new_sid
from ..state import Recording
from ..twilio_format import API_VERSION, RECORDING_PRICE_PER_MINUTE, billable_minutes, price, rfc2822
from .session import Session, method_of, resolve
from .wav import tone_wav

TRANSCRIBE_MAX_SECONDS = 120  # Twilio transcribes recordings of up to two minutes
RECORDING_SOURCES = {"Record": "RecordVerb", "Recording": "StartCallRecordingTwiML"}


@dataclass(frozen=True, slots=True)
class Made:
    recording: Recording
    url: str  # RecordingUrl: the media, without extension


def make_recording(session: Session, seconds: int, source: str, track: str, channels: int = 1) -> Made:
    """A completed recording of `seconds`, stored with its WAV, started at the call's current simulated time."""
    sid = new_sid("RE")
    url = session.recording_url(sid)
    now = time.time()
    recording = Recording(
        seq=0,
        sid=sid,
        account_sid=session.account_sid,
        call_sid=session.call_sid,
        created=now,
        updated=now,
        start_time=now - seconds,
        duration=seconds,
        source=source,
        track=track,
        media=tone_wav(seconds, channels),
        media_url=url,
        price=price(RECORDING_PRICE_PER_MINUTE * billable_minutes(seconds)),
        channels=channels,
    )
    with session.store.lock:
        if session.epoch == session.store.epoch:
            recording.seq = session.store.next_seq()
            session.store.recordings.add(recording)
    session.recording_sids.append(sid)
    return Made(recording, url)


def recording_events(element: ElementTree.Element) -> set[str]:
    value = element.get("recordingStatusCallbackEvent") or "completed"
    return set(value.replace(",", " ").split())


def send_recording_status(
    session: Session, element: ElementTree.Element, document_url: str, made: Made | None, status: str
) -> None:
    """One recording status callback (status in-progress | completed | absent), if the verb asked for it."""
    target = element.get("recordingStatusCallback")
    if not target or status not in recording_events(element):
        return
    params = {
        "AccountSid": session.account_sid,
        "CallSid": session.call_sid,
        "RecordingStatus": status,
        "RecordingSource": RECORDING_SOURCES.get(element.tag, "DialVerb"),
        "ErrorCode": "0",
    }
    if made is not None:
        recording = made.recording
        params |= {
            "RecordingSid": recording.sid,
            "RecordingUrl": made.url,
            "RecordingChannels": str(recording.channels),
            "RecordingStartTime": rfc2822(recording.start_time) or "",
        }
        if status == "completed":
            params["RecordingDuration"] = str(recording.duration)
    method = method_of(element, "recordingStatusCallbackMethod")
    session.hooks.send("recording_status_callback", resolve(document_url, target), method, params)


def start(session: Session, element: ElementTree.Element, document_url: str) -> None:
    """<Start>: of its nouns <Recording> is simulated (the call is recorded from here on); others are ignored."""
    for noun in element:
        if noun.tag == "Recording":
            session.started_recordings.append((noun, document_url, session.clock))
            session.transcript.append({"verb": "Start", "noun": "Recording"})
        else:
            session.transcript.append({"verb": "Start", "noun": noun.tag, "ignored": True})
            session.notes.append(f"<Start><{noun.tag}> is not simulated: ignored")


def stop_recordings(session: Session) -> None:
    """The call ended: each recording a <Start> began is complete, and its status callback is sent."""
    for noun, document_url, started in session.started_recordings:
        seconds = max(1, math.ceil(session.clock - started))
        # As Twilio's: always two channels, and its source not one of the REST API's documented values.
        made = make_recording(session, seconds, RECORDING_SOURCES["Recording"], noun.get("track") or "both", 2)
        send_recording_status(session, noun, document_url, made, "completed")
    session.started_recordings.clear()


def send_transcription(session: Session, element: ElementTree.Element, document_url: str, made: Made) -> str | None:
    """<Record transcribe="true">: the transcription's SID, POSTed to transcribeCallback if there is one."""
    target = element.get("transcribeCallback")
    if (element.get("transcribe") or "").lower() != "true" and not target:
        return None
    recording = made.recording
    sid = new_sid("TR")
    too_long = recording.duration > TRANSCRIBE_MAX_SECONDS
    text = session.script.transcription or f"Sandbox transcription of a {recording.duration} second recording."
    if target:
        params = session.params(
            TranscriptionSid=sid,
            TranscriptionText="" if too_long else text,
            TranscriptionStatus="failed" if too_long else "completed",
            TranscriptionUrl=f"{session.media_base}/{API_VERSION}/Accounts/{session.account_sid}/Transcriptions/{sid}",
            RecordingSid=recording.sid,
            RecordingUrl=made.url,
        )
        session.hooks.send("transcription_callback", resolve(document_url, target), "POST", params)
    return sid
