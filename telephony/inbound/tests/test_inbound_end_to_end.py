"""Calls and SMS to a tenant's number, end to end: the sandbox rings the number as Twilio would, fetches its
webhooks from a real web server, follows the TwiML, and says what the caller heard; workers do the rest."""

import wave
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
import requests
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker

from sandbox.twilio import SandboxServer
from telephony.gateway import TwilioGateway
from telephony.inbound.models import CallFlow, NumberSettings, Recording
from telephony.models import Communication, OptOut, SenderNumber
from telephony.registry.models import TwilioAccount
from tenants.db import connection
from testsupport.processes import PlatformProcesses, eventually
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

CALLER = "+14155559876"
DESK = "+14155550123"


@pytest.fixture
def wired(
    committed_alpha: TenantSetup, platform_processes: PlatformProcesses, django_db_blocker: DjangoDbBlocker
) -> TenantSetup:
    """alpha's number, with Twilio pointed at the platform's web server, as numbers are when bought."""
    with django_db_blocker.unblock(), tenant_context(committed_alpha.tenant):
        account = TwilioAccount.objects.get(tenant=committed_alpha.tenant)
        number = SenderNumber.objects.get(phone_number=SENDER)
        base = f"http://{committed_alpha.host}:{platform_processes.web_port}"  # the web server's SITE_PORT
        configured = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token).configure_number(
            sid=number.twilio_sid,
            voice_url=base + "/webhooks/twilio/voice/",
            sms_url=base + "/webhooks/twilio/sms/",
            status_callback=base + "/webhooks/twilio/voice/status/",
        )
        assert configured.ok, configured.message
    connection.set_schema_to_public()
    return committed_alpha


def with_flow(setup: TenantSetup, blocker: DjangoDbBlocker, build: Callable[[], CallFlow], **number: Any) -> None:
    with blocker.unblock(), tenant_context(setup.tenant):
        NumberSettings.objects.update_or_create(phone_number=SENDER, defaults={"call_flow": build(), **number})
    connection.set_schema_to_public()


def flow(**fields: Any) -> CallFlow:
    made = CallFlow(name=fields.pop("name", fields["kind"]), **fields)
    made.full_clean()
    made.save()
    return made


def ring(sandbox: SandboxServer, **script: Any) -> dict[str, Any]:
    answer = requests.post(
        f"{sandbox.base_url}/sandbox/inbound-calls", json={"from": CALLER, "to": SENDER, **script}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_menu_takes_the_callers_digit_to_the_chosen_message(
    wired: TenantSetup, twilio_sandbox: SandboxServer, django_db_blocker: DjangoDbBlocker
) -> None:
    def build() -> CallFlow:
        hours = flow(kind="message", text="We are open from nine to five.")
        return flow(
            kind="menu",
            text="Press 1 for our hours.",
            options={"1": hours.pk},
            next_flow=flow(kind="message", text="Bye."),
        )

    with_flow(wired, django_db_blocker, build)

    pressed = ring(twilio_sandbox, digits=["1"])
    silent = ring(twilio_sandbox, digits=[""])

    assert pressed["error"] is None and pressed["status"] == "completed"
    assert pressed["heard"] == ["Press 1 for our hours.", "We are open from nine to five."]
    assert silent["heard"] == ["Press 1 for our hours.", "Bye."]
    with django_db_blocker.unblock(), tenant_context(wired.tenant):
        calls = Communication.objects.filter(direction="inbound", channel="call")
        assert {call.twilio_sid for call in calls} == {pressed["sid"], silent["sid"]}
    connection.set_schema_to_public()


def test_an_unanswered_forward_ends_in_voicemail_whose_recording_a_worker_stores(
    wired: TenantSetup,
    twilio_sandbox: SandboxServer,
    platform_processes: PlatformProcesses,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    def build() -> CallFlow:
        voicemail = flow(kind="voicemail", text="Please leave a message.", max_recording_seconds=30)
        return flow(kind="forward", text="Connecting you.", forward_to=DESK, next_flow=voicemail)

    with_flow(wired, django_db_blocker, build)

    call = ring(twilio_sandbox, dial="no-answer", record_seconds=2)

    assert call["heard"] == [
        "Connecting you.",
        "Please leave a message.",
        "Thank you, your message has been recorded. Goodbye.",
    ]
    dialed = [step for step in call["transcript"] if step["verb"] == "Dial"]
    assert [(step["number"], step["caller_id"], step["outcome"]) for step in dialed] == [(DESK, CALLER, "no-answer")]

    def stored() -> Recording | None:
        with django_db_blocker.unblock(), tenant_context(wired.tenant):
            found = (
                Recording.objects.filter(call_sid=call["sid"], status="stored").select_related("communication").first()
            )
            content = found.file.read() if found else b""
        connection.set_schema_to_public()
        return found if content else None

    recording = eventually(stored, "the worker to store the recording", platform_processes)
    assert recording.communication is not None and recording.communication.twilio_sid == call["sid"]
    assert recording.duration_seconds == 2
    media = wired.client(wired.admin_key).get(f"/api/v1/recordings/{recording.pk}/media/")
    with django_db_blocker.unblock():
        audio = wave.open(BytesIO(b"".join(media.streaming_content)))  # type: ignore[attr-defined]
    assert audio.getnframes() / audio.getframerate() == pytest.approx(2, abs=0.1)

    def completed() -> Communication | None:
        with django_db_blocker.unblock(), tenant_context(wired.tenant):
            found = Communication.objects.filter(twilio_sid=call["sid"], status="completed").first()
        connection.set_schema_to_public()
        return found

    assert eventually(completed, "the call's final status", platform_processes).duration_seconds == call["duration"]


def test_a_stop_by_sms_opts_out_and_other_texts_get_the_auto_reply_once(
    wired: TenantSetup, twilio_sandbox: SandboxServer, django_db_blocker: DjangoDbBlocker
) -> None:
    with_flow(
        wired,
        django_db_blocker,
        lambda: flow(kind="message", text="Hi"),
        auto_reply="Thanks! We answer within the hour.",
    )

    def text(body: str) -> dict[str, Any]:
        answer = requests.post(
            f"{twilio_sandbox.base_url}/sandbox/inbound-messages",
            json={"from": CALLER, "to": SENDER, "body": body},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    first, second, stop = text("Is the shop open?"), text("Hello?"), text("stop")

    assert [reply["body"] for reply in first["replies"]] == ["Thanks! We answer within the hour."]
    assert first["replies"][0]["from"] == SENDER and first["replies"][0]["to"] == CALLER
    assert second["replies"] == [] and stop["replies"] == []
    with django_db_blocker.unblock(), tenant_context(wired.tenant):
        assert OptOut.objects.filter(phone_number=CALLER, source="stop_reply").exists()
        inbound = list(
            Communication.objects.filter(direction="inbound", channel="sms").values_list("content", flat=True)
        )
        assert sorted(inbound) == sorted(["Is the shop open?", "Hello?", "stop"])
    connection.set_schema_to_public()


ALL_WEEK = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.mark.parametrize(
    ("build", "script", "heard", "last_verbs"),
    [
        (lambda: flow(kind="message", text="Hello {caller_number}."), {}, [f"Hello {CALLER}."], ["Say", "Hangup"]),
        (
            lambda: flow(
                kind="business_hours",
                hours=ALL_WEEK,
                open_flow=flow(kind="message", text="We are open."),
                next_flow=flow(kind="message", text="We are closed."),
            ),
            {},
            ["We are open."],
            ["Say", "Hangup"],
        ),
        # the relay is not talked to without a "conversation" script (that is voice/conversations/tests)
        (lambda: flow(kind="agent"), {}, [], ["Connect", "Hangup"]),
        (lambda: flow(kind="forward", forward_to=DESK), {"dial": "answer"}, [], ["Dial", "Hangup"]),
    ],
    ids=["message", "business hours", "agent", "forward answered"],
)
def test_each_kind_of_flow_is_what_the_caller_hears(
    wired: TenantSetup,
    twilio_sandbox: SandboxServer,
    django_db_blocker: DjangoDbBlocker,
    build: Callable[[], CallFlow],
    script: dict[str, Any],
    heard: list[str],
    last_verbs: list[str],
) -> None:
    with_flow(wired, django_db_blocker, build)

    call = ring(twilio_sandbox, **script)

    assert call["error"] is None and call["status"] == "completed"
    assert call["heard"] == heard
    assert [step["verb"] for step in call["transcript"]][-len(last_verbs) :] == last_verbs
