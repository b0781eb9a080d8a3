"""Each call flow's TwiML, as Twilio gets it from the voice webhook and the flows' own webhooks."""

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from telephony.inbound.flows import MAX_FLOWS_PER_DOCUMENT, is_open
from telephony.inbound.models import CallFlow, InboundSettings, NumberSettings
from telephony.inbound.tests.support import CALLER, call_params, token_of, twilio_post
from telephony.models import Communication
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from voice.models import VoiceMessage

pytestmark = pytest.mark.django_db

CALL_SID = "CA" + "4" * 32
DESK = "+14155550123"


def flow(setup: TenantSetup, **fields: Any) -> CallFlow:
    with tenant_context(setup.tenant):
        made = CallFlow(name=fields.pop("name", fields["kind"]), **fields)
        made.full_clean()
        made.save()
        return made


def answer_for(
    setup: TenantSetup, root: CallFlow | None, path: str = "/webhooks/twilio/voice/", **extra: str
) -> ElementTree.Element:
    with tenant_context(setup.tenant):
        NumberSettings.objects.update_or_create(phone_number=SENDER, defaults={"call_flow": root})
    response = twilio_post(setup, path, call_params(setup, to=SENDER, sid=CALL_SID, **extra), token=token_of(setup))
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    return ElementTree.fromstring(response.content)


def verbs(document: ElementTree.Element) -> list[str]:
    return [child.tag for child in document]


def path_of(url: str | None) -> str:
    assert url is not None
    return urlsplit(url).path


def test_a_message_speaks_with_the_callers_variables_and_hangs_up(alpha_on_twilio: TenantSetup) -> None:
    message = flow(alpha_on_twilio, kind="message", text="Hello {caller_number}, you called {called_number}.")

    document = answer_for(alpha_on_twilio, message)

    assert verbs(document) == ["Say", "Hangup"]
    assert document[0].text == f"Hello {CALLER}, you called {SENDER}."
    with tenant_context(alpha_on_twilio.tenant):
        call = Communication.objects.get(twilio_sid=CALL_SID)
    assert (call.direction, call.channel, call.from_number, call.to_number, call.status) == (
        "inbound",
        "call",
        CALLER,
        SENDER,
        "ringing",
    )


def test_a_message_can_be_a_voice_message_with_its_voice(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        greeting = VoiceMessage.objects.create(name="Greeting", template_text="Good {time_of_day}!", voice="Polly.Amy")
    message = flow(alpha_on_twilio, kind="message", voice_message=greeting)

    document = answer_for(alpha_on_twilio, message)

    assert document[0].get("voice") == "Polly.Amy"
    assert document[0].text in ("Good morning!", "Good afternoon!", "Good evening!")


def test_a_forward_dials_with_the_callers_id_and_falls_back_to_voicemail_unanswered(
    alpha_on_twilio: TenantSetup,
) -> None:
    voicemail = flow(
        alpha_on_twilio, kind="voicemail", text="Leave a message.", max_recording_seconds=60, transcribe=True
    )
    forward = flow(
        alpha_on_twilio, kind="forward", forward_to="+1 (415) 555-0123", ring_seconds=15, next_flow=voicemail
    )

    document = answer_for(alpha_on_twilio, forward)
    dial = document.find("Dial")
    assert dial is not None
    unanswered = answer_for(alpha_on_twilio, forward, path_of(dial.get("action")), DialCallStatus="no-answer")
    answered = answer_for(alpha_on_twilio, forward, path_of(dial.get("action")), DialCallStatus="completed")

    assert forward.forward_to == DESK  # cleaned to E.164 when saved
    assert (dial.text, dial.get("callerId"), dial.get("timeout")) == (DESK, CALLER, "15")
    assert verbs(unanswered) == ["Say", "Record", "Say", "Hangup"]
    record = unanswered.find("Record")
    assert record is not None
    assert (record.get("maxLength"), record.get("transcribe"), record.get("playBeep")) == ("60", "true", "true")
    assert path_of(record.get("recordingStatusCallback")) == "/webhooks/twilio/voice/recording/"
    assert verbs(answered) == ["Hangup"]


def test_a_forward_can_show_the_number_called(alpha_on_twilio: TenantSetup) -> None:
    forward = flow(alpha_on_twilio, kind="forward", forward_to=DESK, caller_id="number")

    dial = answer_for(alpha_on_twilio, forward).find("Dial")

    assert dial is not None and dial.get("callerId") == SENDER


def test_after_a_voicemail_the_caller_is_thanked(alpha_on_twilio: TenantSetup) -> None:
    voicemail = flow(alpha_on_twilio, kind="voicemail", text="Leave a message.")
    record = answer_for(alpha_on_twilio, voicemail).find("Record")
    assert record is not None

    thanks = answer_for(alpha_on_twilio, voicemail, path_of(record.get("action")), RecordingUrl="https://x/RE1")

    assert verbs(thanks) == ["Say", "Hangup"] and "recorded" in (thanks[0].text or "")


def test_a_menu_gathers_a_digit_and_goes_to_the_chosen_flow(alpha_on_twilio: TenantSetup) -> None:
    sales = flow(alpha_on_twilio, kind="message", text="Sales is closed today.")
    support = flow(alpha_on_twilio, kind="forward", forward_to=DESK)
    goodbye = flow(alpha_on_twilio, kind="message", text="We did not get a choice.")
    menu = flow(
        alpha_on_twilio,
        kind="menu",
        text="Press 1 for sales, 2 for support.",
        options={"1": sales.pk, "2": support.pk},
        menu_seconds=4,
        next_flow=goodbye,
    )

    document = answer_for(alpha_on_twilio, menu)
    gather = document.find("Gather")
    assert gather is not None
    chosen_path = path_of(gather.get("action"))
    pressed_1 = answer_for(alpha_on_twilio, menu, chosen_path, Digits="1")
    pressed_2 = answer_for(alpha_on_twilio, menu, chosen_path, Digits="2")
    pressed_9 = answer_for(alpha_on_twilio, menu, chosen_path, Digits="9")

    assert verbs(document) == ["Gather", "Say", "Hangup"]  # no digit: the next flow, in the same document
    assert (gather.get("numDigits"), gather.get("timeout")) == ("1", "4")
    assert [child.text for child in gather] == ["Press 1 for sales, 2 for support."]
    assert document[1].text == "We did not get a choice."
    assert pressed_1[0].text == "Sales is closed today."
    assert verbs(pressed_2) == ["Dial"]
    assert (
        verbs(pressed_9) == ["Say", "Redirect"]
        and path_of(pressed_9[1].text) == f"/webhooks/twilio/voice/flows/{menu.pk}/"
    )


@pytest.mark.parametrize(
    ("hours", "holidays", "expected"),
    [
        ({day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, [], "open"),
        ({}, [], "closed"),
        ({day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, "today", "closed"),
    ],
    ids=["within hours", "outside hours", "a holiday"],
)
def test_business_hours_choose_the_open_or_closed_flow_in_the_tenants_time_zone(
    alpha_on_twilio: TenantSetup, hours: dict[str, Any], holidays: Any, expected: str
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        InboundSettings.objects.update_or_create(pk=1, defaults={"time_zone": "Pacific/Kiritimati"})
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()  # UTC+14: not the server's day
    open_flow = flow(alpha_on_twilio, kind="message", text="open")
    closed_flow = flow(alpha_on_twilio, kind="message", text="closed")
    hours_flow = flow(
        alpha_on_twilio,
        kind="business_hours",
        hours=hours,
        holidays=[today] if holidays == "today" else holidays,
        open_flow=open_flow,
        next_flow=closed_flow,
    )

    assert answer_for(alpha_on_twilio, hours_flow)[0].text == expected


def test_opening_hours_are_read_on_the_local_clock() -> None:
    weekdays = CallFlow(
        kind="business_hours", hours={"mon": [["09:00", "12:00"], ["13:00", "17:30"]]}, holidays=["2026-12-28"]
    )
    berlin = ZoneInfo("Europe/Berlin")

    assert is_open(weekdays, datetime(2026, 12, 7, 9, 0, tzinfo=berlin))
    assert not is_open(weekdays, datetime(2026, 12, 7, 12, 30, tzinfo=berlin))  # lunch
    assert not is_open(weekdays, datetime(2026, 12, 7, 17, 30, tzinfo=berlin))  # closing time
    assert not is_open(weekdays, datetime(2026, 12, 8, 10, 0, tzinfo=berlin))  # a Tuesday
    assert not is_open(weekdays, datetime(2026, 12, 28, 10, 0, tzinfo=berlin))  # a Monday, but a holiday


def test_an_agent_step_connects_the_call_to_the_agent_over_conversation_relay(alpha_on_twilio: TenantSetup) -> None:
    """The platform's default agent here (alpha has none); the conversation itself: voice/conversations/tests."""
    agent = flow(alpha_on_twilio, kind="agent")

    document = answer_for(alpha_on_twilio, agent)

    assert verbs(document) == ["Connect"]
    relay = document[0].find("ConversationRelay")
    assert relay is not None and relay.get("url", "").endswith("/ws/conversation-relay/")
    assert document[0].get("action", "").endswith("/webhooks/twilio/conversation-relay/")


def test_a_number_without_a_flow_says_so(alpha_on_twilio: TenantSetup) -> None:
    document = answer_for(alpha_on_twilio, None)

    assert verbs(document) == ["Say", "Hangup"] and "does not take calls" in (document[0].text or "")


def test_flows_that_lead_back_to_themselves_end_the_call(alpha_on_twilio: TenantSetup) -> None:
    start = flow(alpha_on_twilio, kind="message", text="x")
    loop = flow(alpha_on_twilio, kind="business_hours", open_flow=start, next_flow=start)
    with tenant_context(alpha_on_twilio.tenant):
        CallFlow.objects.filter(pk=loop.pk).update(next_flow=loop, hours={})

    document = answer_for(alpha_on_twilio, loop)

    assert verbs(document) == ["Say", "Hangup"] and document[0].text == "Goodbye."
    assert MAX_FLOWS_PER_DOCUMENT == 10


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "message"}, "text"),
        ({"kind": "forward"}, "forward_to"),
        ({"kind": "forward", "forward_to": "not a number"}, "forward_to"),
        ({"kind": "forward", "forward_to": DESK, "ring_seconds": 90}, "ring_seconds"),
        ({"kind": "business_hours"}, "open_flow"),
        ({"kind": "menu", "text": "Press", "options": {"12": 1}}, "options"),
        ({"kind": "menu", "text": "Press", "options": {"1": 999999}}, "options"),
        ({"kind": "message", "text": "x", "hours": {"mon": [["17:00", "09:00"]]}}, "hours"),
        ({"kind": "message", "text": "x", "hours": {"someday": []}}, "hours"),
        ({"kind": "message", "text": "x", "holidays": ["25/12/2026"]}, "holidays"),
    ],
)
def test_a_flow_that_cannot_work_is_refused_with_the_field_to_fix(
    alpha_on_twilio: TenantSetup, fields: dict[str, Any], field: str
) -> None:
    with tenant_context(alpha_on_twilio.tenant), pytest.raises(ValidationError) as refused:
        CallFlow(name="Bad", **fields).full_clean()

    assert list(refused.value.message_dict) == [field]
