"""<Record> and <Dial> in simulated inbound calls: real WAV recordings, their callbacks, dial outcomes."""

from __future__ import annotations

import email.utils
import io
import re
import wave

import pytest
import requests

from sandbox.twilio.tests.support import CALLER, DEADLINE, Control, Tenant, line
from sandbox.twilio.tests.twiml_app import TwimlApp

VOICEMAIL = (
    '<Response><Say>Leave a message after the beep</Say><Record maxLength="30" action="/recorded"'
    ' recordingStatusCallback="/recording-status" transcribe="true" transcribeCallback="/transcribed"/>'
    "<Say>Never reached</Say></Response>"
)


def test_record_makes_a_playable_wav_and_reports_it(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/recorded", "<Response><Say>Thanks, goodbye</Say><Hangup/></Response>")
    twiml_app.route("/recording-status")
    twiml_app.route("/transcribed")
    number = line(tenant, twiml_app, VOICEMAIL)
    result = control.inbound_call(to=number, record_seconds=3, transcription="Call me back please")
    [sid] = result["recordings"]
    assert re.fullmatch(r"RE[0-9a-f]{32}", sid)
    recording_url = f"{control.base_url}/2010-04-01/Accounts/{tenant.sid}/Recordings/{sid}"

    [action] = twiml_app.hits("/recorded")
    assert action.signed_by(tenant.auth_token)
    assert {k: action.params[k] for k in ("RecordingUrl", "RecordingSid", "RecordingDuration", "Digits")} == {
        "RecordingUrl": recording_url,
        "RecordingSid": sid,
        "RecordingDuration": "3",
        "Digits": "#",
    }
    assert action.params["CallSid"] == result["sid"] and action.params["CallStatus"] == "in-progress"
    assert result["heard"] == ["Leave a message after the beep", "Thanks, goodbye"]
    [record] = [t for t in result["transcript"] if t["verb"] == "Record"]
    assert (record["recording_sid"], record["duration"], record["ended_by"]) == (sid, 3, "key")

    # The media: a real WAV, behind the account's Basic auth.
    media = requests.get(recording_url + ".wav", auth=(tenant.sid, tenant.auth_token), timeout=DEADLINE)
    assert media.status_code == 200 and media.headers["Content-Type"] == "audio/x-wav"
    with wave.open(io.BytesIO(media.content)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 8000)
        assert audio.getnframes() == 3 * 8000
        assert max(audio.readframes(800)) > 0  # a tone, not silence
    bare = requests.get(recording_url, auth=(tenant.sid, tenant.auth_token), timeout=DEADLINE)
    assert bare.content == media.content  # no extension: WAV, Twilio's default
    assert requests.get(recording_url + ".wav", timeout=DEADLINE).status_code == 401
    assert (
        requests.get(recording_url + ".mp3", auth=(tenant.sid, tenant.auth_token), timeout=DEADLINE).status_code == 404
    )

    [status] = twiml_app.hits("/recording-status")
    assert status.signed_by(tenant.auth_token)
    started = status.params.pop("RecordingStartTime")
    assert email.utils.parsedate_to_datetime(started).tzinfo is not None
    assert status.params == {
        "AccountSid": tenant.sid,
        "CallSid": result["sid"],
        "RecordingSid": sid,
        "RecordingUrl": recording_url,
        "RecordingStatus": "completed",
        "RecordingDuration": "3",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "ErrorCode": "0",
    }
    [transcribed] = twiml_app.hits("/transcribed")
    assert transcribed.signed_by(tenant.auth_token)
    assert (transcribed.params["TranscriptionText"], transcribed.params["TranscriptionStatus"]) == (
        "Call me back please",
        "completed",
    )
    assert (
        transcribed.params["RecordingSid"] == sid
        and record["transcription_sid"] == transcribed.params["TranscriptionSid"]
    )
    order = [r["kind"] for r in result["requests"]]
    assert order == ["twiml_fetch", "record_action", "recording_status_callback", "transcription_callback"]

    fetched = tenant.client.recordings(sid).fetch()
    assert (fetched.call_sid, fetched.duration, fetched.source, fetched.status) == (
        result["sid"],
        "3",
        "RecordVerb",
        "completed",
    )
    assert fetched.media_url == recording_url
    assert [r.sid for r in tenant.client.recordings.list(call_sid=result["sid"])] == [sid]
    assert [r.sid for r in tenant.client.calls(result["sid"]).recordings.list()] == [sid]


def test_record_ended_by_a_hang_up(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/recorded", "<Response><Say>Nobody hears this</Say></Response>")
    number = line(tenant, twiml_app, VOICEMAIL.replace(' recordingStatusCallback="/recording-status"', ""))
    result = control.inbound_call(to=number, record_seconds=4, record_end="hangup")
    [action] = twiml_app.hits("/recorded")
    assert action.params["Digits"] == "hangup" and action.params["CallStatus"] == "completed"
    assert result["heard"] == ["Leave a message after the beep"]  # the action's answer is not run
    assert (result["status"], result["end_reason"]) == ("completed", "caller-hangup")


def test_record_cut_at_max_length_and_empty_recordings(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/recorded", '<Response><Record action="/again" maxLength="2" playBeep="false"/></Response>')
    twiml_app.route("/again", "<Response><Hangup/></Response>")
    number = line(tenant, twiml_app, '<Response><Record action="/recorded"/><Say>After nothing</Say></Response>')
    result = control.inbound_call(to=number, record_seconds=[0, 9])
    # The empty first recording skips its action and goes on; the second is cut at maxLength, without Digits.
    assert result["heard"] == ["After nothing"]
    assert twiml_app.hits("/recorded") == [] and result["end_reason"] == "end-of-document"
    result = control.inbound_call(to=number, record_seconds=[5, 9])
    [again] = twiml_app.hits("/again")
    assert again.params["RecordingDuration"] == "2" and "Digits" not in again.params
    assert len(result["recordings"]) == 2


DIALED = '<Response><Dial action="/dialed" callerId="+14155550111" timeout="20">+1 (415) 555-0123</Dial></Response>'


@pytest.mark.parametrize(
    ("dial", "status", "bridged"),
    [
        ("answer", "completed", "true"),
        ("no-answer", "no-answer", "false"),
        ("busy", "busy", "false"),
        ("failed", "failed", "false"),
    ],
)
def test_dial_outcomes_go_to_the_action(
    tenant: Tenant, twiml_app: TwimlApp, control: Control, dial: str, status: str, bridged: str
) -> None:
    twiml_app.route("/dialed", "<Response><Say>After the dial</Say></Response>")
    number = line(tenant, twiml_app, DIALED)
    result = control.inbound_call(to=number, dial=dial, dial_seconds=42)
    [action] = twiml_app.hits("/dialed")
    assert action.signed_by(tenant.auth_token)
    assert (action.params["DialCallStatus"], action.params["DialBridged"]) == (status, bridged)
    assert re.fullmatch(r"CA[0-9a-f]{32}", action.params["DialCallSid"])
    assert action.params.get("DialCallDuration") == ("42" if status == "completed" else None)
    [entry] = [t for t in result["transcript"] if t["verb"] == "Dial"]
    assert (entry["number"], entry["caller_id"], entry["outcome"]) == ("+14155550123", "+14155550111", dial)
    assert entry["dial_call_sid"] == action.params["DialCallSid"]
    assert result["heard"] == ["After the dial"]
    expected = {"completed": 2 + 42, "no-answer": 20, "busy": 2, "failed": 1}[status] + 2  # + the action's Say
    assert result["duration"] == expected


def test_dial_without_an_action(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(
        tenant, twiml_app, "<Response><Dial><Number>+14155550123</Number></Dial><Say>Nobody answered</Say></Response>"
    )
    unanswered = control.inbound_call(to=number, dial="no-answer")
    assert unanswered["heard"] == ["Nobody answered"]
    answered = control.inbound_call(to=number)
    assert answered["heard"] == [] and answered["end_reason"] == "dial-completed"
    callee_hung_up = control.inbound_call(to=number, dial_hangup="callee")
    assert callee_hung_up["heard"] == ["Nobody answered"]  # the caller is still on the line
    several = control.inbound_call(to=number, dial=["busy", "answer"], dial_hangup="caller")
    assert several["transcript"][0]["outcome"] == "busy" and several["end_reason"] == "end-of-document"


def test_dial_record_makes_a_dial_verb_recording(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/dialed", "<Response><Hangup/></Response>")
    twiml_app.route("/rec")
    number = line(
        tenant,
        twiml_app,
        '<Response><Dial action="/dialed" record="record-from-answer-dual" recordingStatusCallback="/rec">'
        "+14155550123</Dial></Response>",
    )
    result = control.inbound_call(to=number, dial_seconds=4)
    [sid] = result["recordings"]
    [action] = twiml_app.hits("/dialed")
    assert (action.params["RecordingSid"], action.params["RecordingDuration"]) == (sid, "4")
    [status] = twiml_app.hits("/rec")
    assert (status.params["RecordingSource"], status.params["RecordingChannels"]) == ("DialVerb", "2")
    recording = tenant.client.recordings(sid).fetch()
    assert (recording.source, recording.channels, recording.duration) == ("DialVerb", 2, "4")
    media = requests.get(
        str(action.params["RecordingUrl"]) + ".wav", auth=(tenant.sid, tenant.auth_token), timeout=DEADLINE
    )
    with wave.open(io.BytesIO(media.content)) as audio:
        assert (audio.getnchannels(), audio.getnframes()) == (2, 4 * 8000)


def test_the_caller_may_be_a_client(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = line(tenant, twiml_app, "<Response><Say>Hello client</Say></Response>")
    result = control.inbound_call(to=number, from_="client:alice")
    [fetch] = twiml_app.hits("/voice")
    assert (fetch.params["From"], fetch.params["FromCity"], fetch.params["ToCity"]) == (
        "client:alice",
        "",
        "SAN FRANCISCO",
    )
    assert result["from"] == "client:alice" and CALLER not in fetch.params.values()
