"""A call's result carries the call's own recording: a voicemail left after a transfer nobody answered has the
same call SID, and is told apart by the source Twilio names in the recording status callback."""

import pytest
from django_tenants.utils import tenant_context

from telephony.inbound.models import Recording
from telephony.inbound.services import recording_received
from testsupport.tenants import TenantSetup
from voice.conversations.models import Conversation
from voice.conversations.selectors import stored_recording_of

pytestmark = pytest.mark.django_db

CALL_SID = "CA" + "9" * 32


def received(sid: str, source: str) -> Recording:
    recording = recording_received(
        params={
            "CallSid": CALL_SID,
            "RecordingSid": sid,
            "RecordingStatus": "completed",
            "RecordingSource": source,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}",
            "RecordingDuration": "12",
        }
    )
    assert recording is not None
    return recording


def test_the_result_takes_the_calls_recording_not_the_voicemail_after_it(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        conversation = Conversation.objects.create(call_sid=CALL_SID, status=Conversation.Status.ENDED)
        voicemail = received("RE" + "1" * 32, "RecordVerb")  # its callback may well come first
        call = received("RE" + "2" * 32, "StartCallRecordingTwiML")
        Recording.objects.update(status=Recording.Status.STORED)

        assert (voicemail.source, call.source) == (Recording.Source.VOICEMAIL, Recording.Source.CALL)
        kept = stored_recording_of(conversation)
        assert kept is not None and kept.recording_sid == call.recording_sid

        Recording.objects.filter(pk=call.pk).delete()
        assert stored_recording_of(conversation) is None  # only a voicemail: the call was not recorded
