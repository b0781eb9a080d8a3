"""Recordings: list (all, or one call's), fetch, media download, delete.

Recordings come from <Record> and <Dial record> in simulated inbound calls (sandbox.twilio.simulator).
The media is a real WAV file: GET .../Recordings/{Sid}.wav, or the media URL without an extension
(Twilio's default format is WAV too). The sandbox makes no MP3s, so .mp3 answers 404. Media needs the
account's Basic auth like every other request (Twilio's "HTTP basic authentication for media" on),
and one account never sees another's recordings: their SIDs answer 404, as on Twilio.
"""

from __future__ import annotations

from .. import errors
from ..state import Account, Recording
from ..twilio_format import call_recording_json, recording_json
from .common import ApiContext, Request, Response, fetch_response, first, get_or_404, list_response, paging, time_filter


def list_recordings(api: ApiContext, request: Request, caller: Account, account_sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    query = request.query
    call_sid = first(query, "CallSid")
    conference_sid = first(query, "ConferenceSid")
    date_filters, created_in_range = time_filter(query, "DateCreated")
    paged = paging(query)
    filters = [(k, v) for k, v in (("CallSid", call_sid), ("ConferenceSid", conference_sid)) if v is not None]
    filters += date_filters

    def wanted(recording: Recording) -> bool:
        return (
            conference_sid is None  # the sandbox records no conferences
            and (call_sid is None or recording.call_sid == call_sid)
            and (created_in_range is None or created_in_range(recording.created))
        )

    return list_response(
        api, request, "recordings", api.store.recordings, account.sid, wanted, recording_json, filters, paged
    )


def fetch_recording(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    return fetch_response(api, request, caller, account_sid, api.store.recordings, sid, recording_json)


def delete_recording(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        recording = get_or_404(api.store.recordings, account.sid, sid, request.path)
        api.store.recordings.remove(recording)  # the media goes with it
    return Response(204, None)


def fetch_media(
    api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str, extension: str | None
) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        recording = get_or_404(api.store.recordings, account.sid, sid, request.path)
        media = recording.media
    if extension == ".mp3":
        raise errors.not_found(request.path)  # only WAV exists in the sandbox
    return Response(200, None, raw=media, content_type="audio/x-wav")


def list_call_recordings(
    api: ApiContext, request: Request, caller: Account, account_sid: str, call_sid: str
) -> Response:
    account = api.account_in_scope(caller, account_sid)
    date_filters, created_in_range = time_filter(request.query, "DateCreated")
    paged = paging(request.query)
    with api.store.lock:
        get_or_404(api.store.calls, account.sid, call_sid, request.path)

    def wanted(recording: Recording) -> bool:
        return recording.call_sid == call_sid and (created_in_range is None or created_in_range(recording.created))

    return list_response(
        api, request, "recordings", api.store.recordings, account.sid, wanted, call_recording_json, date_filters, paged
    )


def _call_recording(api: ApiContext, request: Request, account: Account, call_sid: str, sid: str) -> Recording:
    """The account's recording of this call (caller holds the store lock)."""
    recording = get_or_404(api.store.recordings, account.sid, sid, request.path)
    if recording.call_sid != call_sid:
        raise errors.not_found(request.path)
    return recording


def fetch_call_recording(
    api: ApiContext, request: Request, caller: Account, account_sid: str, call_sid: str, sid: str
) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        return Response(200, call_recording_json(_call_recording(api, request, account, call_sid, sid)))


def delete_call_recording(
    api: ApiContext, request: Request, caller: Account, account_sid: str, call_sid: str, sid: str
) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        api.store.recordings.remove(_call_recording(api, request, account, call_sid, sid))
    return Response(204, None)
