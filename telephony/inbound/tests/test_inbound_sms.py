"""Inbound SMS: recorded once, opt-out keywords as Twilio's defaults, HELP, the auto-reply and its window."""

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.appointments.models import Appointment
from telephony.appointments.tests.support import book
from telephony.inbound.keywords import WORDS, Keyword
from telephony.inbound.models import AutoReplySent, InboundSettings, NumberSettings
from telephony.inbound.tests.support import CALLER, sms_params, token_of, twilio_post
from telephony.models import Communication, OptOut
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db

MESSAGE_SIDS = itertools.count(1)


def text_in(setup: TenantSetup, body: str, *, sid: str | None = None, public: bool = False) -> list[str]:
    """Texts the tenant's number; returns the bodies of the <Message> replies."""
    params = sms_params(setup, to=SENDER, sid=sid or f"SM{next(MESSAGE_SIDS):032d}", body=body)
    response = twilio_post(None if public else setup, "/webhooks/twilio/sms/", params, token=token_of(setup))
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    return [message.text or "" for message in ElementTree.fromstring(response.content).iter("Message")]


def opted_out(setup: TenantSetup) -> bool:
    with tenant_context(setup.tenant):
        return OptOut.objects.filter(phone_number=CALLER).exists()


def set_up_number(setup: TenantSetup, **fields: object) -> None:
    with tenant_context(setup.tenant):
        NumberSettings.objects.create(phone_number=SENDER, **fields)


def test_an_sms_is_recorded_once_with_its_media_even_when_twilio_sends_it_twice(alpha_on_twilio: TenantSetup) -> None:
    params = sms_params(
        alpha_on_twilio,
        to=SENDER,
        sid="SM" + "1" * 32,
        body="Photo of the leak",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/media/1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/media/2",
        MediaContentType1="image/png",
    )
    for _ in range(2):
        assert (
            twilio_post(alpha_on_twilio, "/webhooks/twilio/sms/", params, token=token_of(alpha_on_twilio)).status_code
            == 200
        )

    with tenant_context(alpha_on_twilio.tenant):
        (message,) = Communication.objects.filter(direction=Communication.Direction.INBOUND)
    assert (message.channel, message.from_number, message.to_number, message.status) == (
        "sms",
        CALLER,
        SENDER,
        "received",
    )
    assert message.content == "Photo of the leak" and message.twilio_sid == "SM" + "1" * 32
    assert message.media_urls == ["https://api.twilio.com/media/1", "https://api.twilio.com/media/2"]


@pytest.mark.parametrize("word", [word for word, keyword in WORDS.items() if keyword is Keyword.OPT_OUT])
@pytest.mark.parametrize("spelling", [str.upper, str.lower, str.capitalize, lambda word: f"  {word} \n"])
def test_every_opt_out_word_in_any_case_opts_the_sender_out(
    alpha_on_twilio: TenantSetup, word: str, spelling: Callable[[str], str]
) -> None:
    replies = text_in(alpha_on_twilio, spelling(word))

    assert opted_out(alpha_on_twilio)
    assert replies == []  # Twilio confirms it itself, and would refuse anything more


@pytest.mark.parametrize("body", ["stop by at 5", "Please stop", "STOP STOP", "cancel my appointment", "STOP."])
def test_a_message_that_only_contains_an_opt_out_word_is_an_ordinary_message(
    alpha_on_twilio: TenantSetup, body: str
) -> None:
    text_in(alpha_on_twilio, body)

    assert not opted_out(alpha_on_twilio)


@pytest.mark.parametrize("word", ["START", "yes", " Unstop "])
def test_opting_back_in_lifts_the_opt_out(alpha_on_twilio: TenantSetup, word: str) -> None:
    text_in(alpha_on_twilio, "STOP")
    text_in(alpha_on_twilio, word)

    assert not opted_out(alpha_on_twilio)


def test_after_stop_the_api_refuses_to_send_to_the_number_and_says_why(alpha_on_twilio: TenantSetup) -> None:
    text_in(alpha_on_twilio, "unsubscribe")

    refused = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        "/api/v1/messages/", {"to": CALLER, "body": "Sale today"}, format="json"
    )

    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:switchboard:problem:opted-out"
    assert refused.json()["errors"] == {"to": [f"{CALLER} has opted out of messages (replied STOP)."]}


@pytest.mark.parametrize("word", ["HELP", "info", " Help "])
def test_help_and_info_answer_the_tenants_help_text(alpha_on_twilio: TenantSetup, word: str) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        InboundSettings.objects.update_or_create(pk=1, defaults={"help_text": "Alpha Dental: call 555-0100."})

    assert text_in(alpha_on_twilio, word) == ["Alpha Dental: call 555-0100."]
    assert not opted_out(alpha_on_twilio)


def test_the_auto_reply_goes_once_per_sender_per_window_and_is_logged(alpha_on_twilio: TenantSetup) -> None:
    set_up_number(
        alpha_on_twilio, auto_reply="Thanks {sender_number}, we reply within a day.", auto_reply_window_minutes=60
    )

    first = text_in(alpha_on_twilio, "Are you open?")
    second = text_in(alpha_on_twilio, "Hello?")
    with tenant_context(alpha_on_twilio.tenant):
        AutoReplySent.objects.update(sent_at=timezone.now() - timedelta(minutes=61))
    after_the_window = text_in(alpha_on_twilio, "Anyone?")

    assert first == [f"Thanks {CALLER}, we reply within a day."]
    assert second == []
    assert after_the_window == first
    with tenant_context(alpha_on_twilio.tenant):
        replies = Communication.objects.filter(direction=Communication.Direction.OUTBOUND, to_number=CALLER)
        assert [(reply.from_number, reply.status, reply.content) for reply in replies] == [
            (SENDER, "queued", first[0]),
            (SENDER, "queued", first[0]),
        ]


def test_no_auto_reply_to_an_opted_out_sender(alpha_on_twilio: TenantSetup) -> None:
    set_up_number(alpha_on_twilio, auto_reply="Thanks!")
    text_in(alpha_on_twilio, "STOP")

    assert text_in(alpha_on_twilio, "One more thing") == []


def test_a_replys_status_comes_back_to_its_log_line(alpha_on_twilio: TenantSetup) -> None:
    set_up_number(alpha_on_twilio, auto_reply="Thanks!")
    params = sms_params(alpha_on_twilio, to=SENDER, sid="SM" + "2" * 32, body="Hi")
    answer = twilio_post(alpha_on_twilio, "/webhooks/twilio/sms/", params, token=token_of(alpha_on_twilio))
    reply_verb = ElementTree.fromstring(answer.content).find("Message")
    assert reply_verb is not None
    path = urlsplit(reply_verb.get("action", "")).path

    delivered = twilio_post(
        alpha_on_twilio,
        path,
        {"MessageSid": "SM" + "3" * 32, "MessageStatus": "delivered", "AccountSid": params["AccountSid"]},
        token=token_of(alpha_on_twilio),
    )

    assert delivered.status_code == 200
    with tenant_context(alpha_on_twilio.tenant):
        reply = Communication.objects.get(direction=Communication.Direction.OUTBOUND, to_number=CALLER)
    assert reply.status == "delivered"


def test_forwarding_is_queued_for_a_worker_not_done_in_the_webhook(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    set_up_number(alpha_on_twilio, forward_url="https://crm.example.com/sms", forward_email="desk@alpha.test")

    with django_capture_on_commit_callbacks(execute=True):
        text_in(alpha_on_twilio, "Call me back")

    with tenant_context(alpha_on_twilio.tenant):
        message = Communication.objects.get(direction=Communication.Direction.INBOUND)
    assert sorted((task.name, task.kwargs, task.schema) for task in queued_tasks) == [
        (
            "telephony.inbound.tasks.forward_sms_by_email",
            {"communication_id": message.pk, "address": "desk@alpha.test"},
            alpha_on_twilio.tenant.schema_name,
        ),
        (
            "telephony.inbound.tasks.forward_sms_to_url",
            {"communication_id": message.pk, "url": "https://crm.example.com/sms"},
            alpha_on_twilio.tenant.schema_name,
        ),
    ]


def test_on_the_public_host_the_sms_reaches_the_numbers_tenant(alpha_on_twilio: TenantSetup) -> None:
    text_in(alpha_on_twilio, "STOP", public=True)

    assert opted_out(alpha_on_twilio)


@pytest.mark.parametrize(("reply", "status"), [("C", "confirmed"), ("y", "confirmed"), ("R", "reschedule_requested")])
def test_a_customers_reply_about_an_appointment_is_applied_and_answered(
    alpha_on_twilio: TenantSetup, reply: str, status: str
) -> None:
    set_up_number(alpha_on_twilio, auto_reply="Thanks!")  # an appointment's answer comes instead
    appointment_id = book(alpha_on_twilio, phone_number=CALLER).json()["id"]

    answers = text_in(alpha_on_twilio, reply)

    with tenant_context(alpha_on_twilio.tenant):
        appointment = Appointment.objects.get(pk=appointment_id)
    assert appointment.status == status
    assert len(answers) == 1 and answers[0] != "Thanks!"
    assert ("confirmed" if status == "confirmed" else "reschedul") in answers[0].lower()
