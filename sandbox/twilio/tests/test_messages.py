"""Sandbox messages: creation, lifecycle, signed status callbacks, magic numbers, validation."""

from __future__ import annotations

import re
from typing import Any, Required, TypedDict

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from sandbox.twilio import SandboxServer
from sandbox.twilio.tests.support import Control, Receiver, Tenant
from testsupport.wait import wait_until

FROM = "+14155550199"


def final_status(
    client: Client, sid: str, statuses: tuple[str, ...] = ("delivered", "undelivered", "failed")
) -> MessageInstance:
    def ended() -> MessageInstance | None:
        message = client.messages(sid).fetch()
        return message if message.status in statuses else None

    return wait_until(ended, message=f"{sid} to end in {statuses}")


def test_message_lifecycle_sends_signed_callbacks(
    tenant: Tenant, receiver: Receiver, sandbox: SandboxServer, control: Control
) -> None:
    callback_url = receiver.unique("/status/sms")
    message = tenant.client.messages.create(
        to="+14155550100", from_=FROM, body="Hello from the sandbox", status_callback=callback_url
    )

    assert message.sid is not None and re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == ("+14155550100", FROM, "Hello from the sandbox")
    assert (message.account_sid, message.direction, message.api_version) == (tenant.sid, "outbound-api", "2010-04-01")
    assert message.price is None and message.error_code is None and message.date_sent is None
    assert message.num_segments == "1" and message.num_media == "0"
    assert message.uri == f"/2010-04-01/Accounts/{tenant.sid}/Messages/{message.sid}.json"

    callbacks = receiver.wait_for(callback_url, count=3)
    assert [c.params["MessageStatus"] for c in callbacks] == ["sending", "sent", "delivered"]
    tenant_validator = RequestValidator(tenant.auth_token)
    for callback in callbacks:
        params = callback.params
        assert callback.method == "POST"
        assert callback.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert tenant_validator.validate(callback.url, params, callback.signature), callback
        # Signed with the owning subaccount's token, not the master's.
        assert not RequestValidator(sandbox.auth_token).validate(callback.url, params, callback.signature)
        assert params["MessageSid"] == params["SmsSid"] == message.sid
        assert params["SmsStatus"] == params["MessageStatus"]
        assert (params["AccountSid"], params["From"], params["To"], params["ApiVersion"]) == (
            tenant.sid,
            FROM,
            "+14155550100",
            "2010-04-01",
        )
        assert "ErrorCode" not in params
        assert callback.headers["I-Twilio-Idempotency-Token"]
    assert len({c.headers["I-Twilio-Idempotency-Token"] for c in callbacks}) == 3

    delivered = tenant.client.messages(message.sid).fetch()
    assert delivered.status == "delivered"
    assert delivered.price == "-0.00790" and delivered.price_unit == "USD"
    assert delivered.date_sent is not None and delivered.date_created is not None
    assert delivered.date_sent >= delivered.date_created.replace(microsecond=0)

    log = [c for c in control.log("callbacks") if c["sid"] == message.sid]
    assert [(c["event"], c["status"], c["error"]) for c in log] == [
        ("sending", 200, None),
        ("sent", 200, None),
        ("delivered", 200, None),
    ]


def test_callback_failures_are_logged_not_retried(tenant: Tenant, receiver: Receiver, control: Control) -> None:
    callback_url = receiver.unique("/status/500")
    message = tenant.client.messages.create(to="+14155550100", from_=FROM, body="x", status_callback=callback_url)
    message_sid = message.sid
    assert message_sid is not None
    final_status(tenant.client, message_sid)

    def three_callbacks() -> list[dict[str, Any]] | None:
        entries = [c for c in control.log("callbacks") if c["sid"] == message_sid]
        return entries if len(entries) == 3 else None

    log = wait_until(three_callbacks)
    assert {c["status"] for c in log} == {500}
    assert len(receiver.matching(callback_url)) == 3


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_magic_to_numbers_are_rejected(tenant: Tenant, to: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.messages.create(to=to, from_=FROM, body="x")
    assert (caught.value.status, caught.value.code) == (400, code)
    assert tenant.client.messages.list() == []  # nothing was stored


@pytest.mark.parametrize(
    ("sender", "code"), [("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611)]
)
def test_magic_from_numbers_are_rejected(tenant: Tenant, sender: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.messages.create(to="+14155550100", from_=sender, body="x")
    assert (caught.value.status, caught.value.code) == (400, code)


class MessageArguments(TypedDict, total=False):
    """The messages.create() keywords the validation cases use."""

    to: Required[str]
    from_: str
    body: str
    status_callback: str
    media_url: list[str]


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"to": "", "from_": FROM, "body": "x"}, 21604),
        ({"to": "+14155550100", "body": "x"}, 21603),
        ({"to": "+14155550100", "from_": FROM}, 21602),
        ({"to": "+14155550100", "from_": FROM, "body": ""}, 21602),
        ({"to": "not a number", "from_": FROM, "body": "x"}, 21211),
        ({"to": "+1415555", "from_": FROM, "body": "x"}, 21211),
        ({"to": "+14155550100", "from_": "+1", "body": "x"}, 21212),
        ({"to": "+14155550100", "from_": "+14155550100", "body": "x"}, 21266),
        ({"to": "+14155550100", "from_": FROM, "body": "x" * 1601}, 21617),
        ({"to": "+14155550100", "from_": FROM, "body": "x", "status_callback": "ftp://example.com/cb"}, 21609),
        ({"to": "+14155550100", "from_": FROM, "media_url": ["not-a-url"]}, 21620),
    ],
)
def test_validation_errors(tenant: Tenant, arguments: MessageArguments, code: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.messages.create(**arguments)
    assert (caught.value.status, caught.value.code) == (400, code)


@pytest.mark.parametrize(
    ("to", "status", "code"),
    [
        ("+15005553003", "undelivered", 30003),
        ("+15005553004", "undelivered", 30004),
        ("+15005553005", "undelivered", 30005),
        ("+15005553006", "undelivered", 30006),
        ("+15005553007", "undelivered", 30007),
        ("+15005553008", "failed", 30008),
    ],
)
def test_delivery_failures(tenant: Tenant, receiver: Receiver, to: str, status: str, code: int) -> None:
    callback_url = receiver.unique("/status/fail")
    message = tenant.client.messages.create(to=to, from_=FROM, body="x", status_callback=callback_url)
    assert message.status == "queued" and message.sid is not None
    ended = final_status(tenant.client, message.sid)
    assert (ended.status, ended.error_code) == (status, code)
    assert ended.error_message
    expected = ["sending", "sent", status] if status == "undelivered" else ["failed"]
    callbacks = receiver.wait_for(callback_url, count=len(expected))
    assert [c.params["MessageStatus"] for c in callbacks] == expected
    assert callbacks[-1].params["ErrorCode"] == str(code)
    assert all("ErrorCode" not in c.params for c in callbacks[:-1])


def test_sent_without_delivery_receipt_stays_sent(tenant: Tenant, receiver: Receiver, sandbox: SandboxServer) -> None:
    callback_url = receiver.unique("/status/stuck")
    message = tenant.client.messages.create(to="+15005553000", from_=FROM, body="x", status_callback=callback_url)
    assert message.sid is not None
    receiver.wait_for(callback_url, count=2)
    assert sandbox.wait_idle(10)
    assert tenant.client.messages(message.sid).fetch().status == "sent"
    assert [c.params["MessageStatus"] for c in receiver.matching(callback_url)] == ["sending", "sent"]


def test_messaging_service_is_accepted_then_picks_a_sender(tenant: Tenant, receiver: Receiver) -> None:
    number = tenant.client.incoming_phone_numbers.create(area_code="206")
    callback_url = receiver.unique("/status/service")
    service = "MG" + "a" * 32
    message = tenant.client.messages.create(
        to="+14155550100", messaging_service_sid=service, body="x", status_callback=callback_url
    )
    assert (message.status, message.from_, message.messaging_service_sid) == ("accepted", None, service)
    assert message.sid is not None
    callbacks = receiver.wait_for(callback_url, count=4)
    assert [c.params["MessageStatus"] for c in callbacks] == ["queued", "sending", "sent", "delivered"]
    assert {c.params["MessagingServiceSid"] for c in callbacks} == {service}
    assert tenant.client.messages(message.sid).fetch().from_ == number.phone_number


def test_mms_and_segments(tenant: Tenant) -> None:
    media = tenant.client.messages.create(
        to="+14155550100", from_=FROM, media_url=["https://example.com/a.png", "https://example.com/b.png"]
    )
    assert media.sid is not None
    assert re.fullmatch(r"MM[0-9a-f]{32}", media.sid) and media.num_media == "2" and media.body == ""
    long_text = tenant.client.messages.create(to="+14155550100", from_=FROM, body="a" * 161)
    assert long_text.num_segments == "2"
    unicode_text = tenant.client.messages.create(to="+14155550100", from_=FROM, body="✓" * 71)
    assert unicode_text.num_segments == "2"
    assert long_text.sid is not None
    delivered = final_status(tenant.client, long_text.sid)
    assert delivered.price == "-0.01580"


def test_redact_and_delete(tenant: Tenant) -> None:
    message = tenant.client.messages.create(to="+14155550100", from_=FROM, body="secret")
    assert message.sid is not None
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.messages(message.sid).update(body="")
    assert caught.value.code == 20009  # still in flight
    final_status(tenant.client, message.sid)
    assert tenant.client.messages(message.sid).update(body="").body == ""
    assert tenant.client.messages(message.sid).fetch().body == ""
    assert tenant.client.messages(message.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.messages(message.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_inspection_log_records_every_accepted_message(tenant: Tenant, control: Control) -> None:
    since = control.log_total("messages")
    sids = [tenant.client.messages.create(to=f"+1415555{i:04d}", from_=FROM, body=f"n{i}").sid for i in range(5)]
    with pytest.raises(TwilioRestException):
        tenant.client.messages.create(to="+15005550001", from_=FROM, body="rejected")
    entries = control.log("messages", since)
    assert [e["sid"] for e in entries] == sids
    assert [e["body"] for e in entries] == [f"n{i}" for i in range(5)]
    assert all(e["account_sid"] == tenant.sid for e in entries)
    monotonic = [e["received_monotonic"] for e in entries]
    assert monotonic == sorted(monotonic) and all(e["received_at"] > 1e9 for e in entries)
    assert [e["index"] for e in entries] == list(range(since, since + 5))
    # ?since= pages: asking from the third entry returns the rest only.
    assert [e["sid"] for e in control.log("messages", since + 2)] == sids[2:]
