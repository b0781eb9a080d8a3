"""Sandbox fault injection: 429s, 500s, latency, timeouts, duplicate and out-of-order callbacks."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from sandbox.twilio import SandboxHttpClient, SandboxServer
from sandbox.twilio.tests.support import Control, Receiver, Tenant

FROM = "+14155550199"


def recording_client(
    sandbox: SandboxServer, tenant: Tenant, **http_kwargs: Any
) -> tuple[Client, list[requests.Response]]:
    """A client whose raw HTTP responses (headers included) are kept, via a requests response hook."""
    seen: list[requests.Response] = []
    http_client = SandboxHttpClient(
        sandbox.base_url, request_hooks={"response": [lambda r, *a, **k: seen.append(r)]}, **http_kwargs
    )
    return Client(tenant.sid, tenant.auth_token, http_client=http_client), seen


def test_429_carries_retry_after(sandbox: SandboxServer, tenant: Tenant, control: Control) -> None:
    control.post("/sandbox/faults", {"error_429_rate": 1.0, "retry_after_seconds": 3})
    client, seen = recording_client(sandbox, tenant)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="+14155550100", from_=FROM, body="x")
    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert seen[-1].status_code == 429 and seen[-1].headers["Retry-After"] == "3"
    assert seen[-1].json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    with pytest.raises(TwilioException, match="429"):  # without `methods`, every request is affected
        client.messages.list()
    control.post("/sandbox/faults", {})
    assert client.messages.list() == []  # the refused create left nothing behind


def test_500(tenant: Tenant, control: Control) -> None:
    control.post("/sandbox/faults", {"error_500_rate": 1.0})
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.calls.create(to="+14155550100", from_=FROM, twiml="<Response/>")
    assert (caught.value.status, caught.value.code) == (500, 20500)
    control.post("/sandbox/faults", {})
    assert tenant.client.calls.list() == []


def test_faults_can_target_methods_and_paths(tenant: Tenant, control: Control) -> None:
    control.post("/sandbox/faults", {"error_500_rate": 1.0, "methods": ["POST"], "path_contains": "/Messages"})
    with pytest.raises(TwilioRestException):
        tenant.client.messages.create(to="+14155550100", from_=FROM, body="x")
    assert tenant.client.messages.list() == []  # GET unaffected
    assert tenant.client.calls.create(to="+14155550100", from_=FROM, twiml="<Response/>").status == "queued"


def test_delay(tenant: Tenant, control: Control) -> None:
    control.post("/sandbox/faults", {"delay_ms": 300})
    since = control.log_total("requests")
    started = time.monotonic()
    tenant.client.api.accounts(tenant.sid).fetch()
    assert time.monotonic() - started >= 0.3
    [entry] = [r for r in control.log("requests", since) if r["path"] == f"/2010-04-01/Accounts/{tenant.sid}.json"]
    assert entry["fault"] == "delay" and entry["elapsed_ms"] >= 300


def test_timeout_after_commit_creates_the_message_but_loses_the_answer(
    sandbox: SandboxServer, tenant: Tenant, control: Control
) -> None:
    control.post("/sandbox/faults", {"timeout_rate": 1.0, "timeout_hold_ms": 3000, "methods": ["POST"]})
    client, _ = recording_client(sandbox, tenant, timeout=0.5)
    since = control.log_total("messages")
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        client.messages.create(to="+14155550100", from_=FROM, body="did it go?")
    assert time.monotonic() - started < 2.5  # the client gave up; the sandbox is still holding on
    [entry] = control.log("messages", since)
    assert entry["body"] == "did it go?" and entry["account_sid"] == tenant.sid
    assert [m.body for m in tenant.client.messages.list()] == ["did it go?"]  # a retry would duplicate it


def test_timeout_before_commit_creates_nothing(sandbox: SandboxServer, tenant: Tenant, control: Control) -> None:
    control.post(
        "/sandbox/faults",
        {"timeout_rate": 1.0, "timeout_hold_ms": 3000, "timeout_after_commit": False, "methods": ["POST"]},
    )
    client, _ = recording_client(sandbox, tenant, timeout=0.5)
    with pytest.raises(requests.exceptions.Timeout):
        client.messages.create(to="+14155550100", from_=FROM, body="lost")
    assert tenant.client.messages.list() == []


def test_seeded_faults_are_reproducible(tenant: Tenant, control: Control) -> None:
    def outcomes() -> list[int]:
        control.post("/sandbox/faults", {"error_429_rate": 0.5, "seed": 7, "methods": ["POST"]})
        result = []
        for _ in range(20):
            try:
                tenant.client.messages.create(to="+14155550100", from_=FROM, body="x")
                result.append(201)
            except TwilioRestException as exc:
                result.append(exc.status)
        return result

    first = outcomes()
    assert first == outcomes()
    assert set(first) == {201, 429}
    assert len(tenant.client.messages.list()) == 2 * first.count(201)


def test_duplicate_callbacks(tenant: Tenant, receiver: Receiver, control: Control) -> None:
    control.post("/sandbox/faults", {"duplicate_callback_rate": 1.0})
    callback_url = receiver.unique("/status/dup")
    message = tenant.client.messages.create(to="+14155550100", from_=FROM, body="x", status_callback=callback_url)
    callbacks = receiver.wait_for(callback_url, count=6)
    assert [c.params["MessageStatus"] for c in callbacks] == [
        "sending",
        "sending",
        "sent",
        "sent",
        "delivered",
        "delivered",
    ]
    tokens = Counter(c.headers["I-Twilio-Idempotency-Token"] for c in callbacks)
    assert len(tokens) == 3 and set(tokens.values()) == {2}  # a duplicate repeats its idempotency token
    log = [c for c in control.log("callbacks") if c["sid"] == message.sid]
    assert [c["duplicate"] for c in log] == [False, True] * 3


def test_out_of_order_callbacks(tenant: Tenant, receiver: Receiver, control: Control, sandbox: SandboxServer) -> None:
    control.post("/sandbox/faults", {"out_of_order_callbacks": True})
    message_url = receiver.unique("/status/ooo-sms")
    tenant.client.messages.create(to="+14155550100", from_=FROM, body="x", status_callback=message_url)
    call_url = receiver.unique("/status/ooo-call")
    tenant.client.calls.create(
        to="+14155550100",
        from_=FROM,
        twiml="<Response/>",
        status_callback=call_url,
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    # Each non-final callback waits for the next one: pairs arrive swapped, finals are never held.
    assert [c.params["MessageStatus"] for c in receiver.wait_for(message_url, count=3)] == [
        "sent",
        "sending",
        "delivered",
    ]
    assert [c.params["CallStatus"] for c in receiver.wait_for(call_url, count=4)] == [
        "ringing",
        "initiated",
        "completed",
        "in-progress",
    ]
    assert [c.params["SequenceNumber"] for c in receiver.matching(call_url)] == ["1", "0", "3", "2"]


def test_fault_config_is_validated(sandbox: SandboxServer, control: Control) -> None:
    for bad in (
        {"error_429_rate": 2},
        {"no_such_fault": 1},
        {"delay_ms": -5},
        {"methods": "POST"},
        {"out_of_order_callbacks": "yes"},
    ):
        response = requests.post(sandbox.base_url + "/sandbox/faults", json=bad, timeout=10)
        assert response.status_code == 400, bad
    config = control.post("/sandbox/faults", {"error_500_rate": 0.25, "seed": 3})
    assert config["error_500_rate"] == 0.25 and config["seed"] == 3 and config["error_429_rate"] == 0.0
    assert control.get("/sandbox/faults") == config


def test_reset_forgets_everything_but_the_master() -> None:
    # A private sandbox: resetting the session's would wipe the logs other tests inspect.
    with SandboxServer(port=0, timing=0) as sandbox:
        control = Control(sandbox.base_url)
        master = Client(sandbox.account_sid, sandbox.auth_token, http_client=SandboxHttpClient(sandbox.base_url))
        sub = master.api.accounts.create(friendly_name="doomed")
        assert sub.sid is not None
        master.messages.create(to="+14155550100", from_=FROM, body="x")
        master.incoming_phone_numbers.create(phone_number="+14155550123")
        control.post("/sandbox/faults", {"delay_ms": 1})
        assert control.get("/sandbox/idle", timeout=10)["idle"] is True

        assert control.post("/sandbox/reset", {}) == {"reset": True}
        assert control.get("/sandbox/faults")["delay_ms"] == 0
        assert master.messages.list() == [] and master.incoming_phone_numbers.list() == []
        assert [a.sid for a in master.api.accounts.list()] == [sandbox.account_sid]
        with pytest.raises(TwilioRestException) as caught:
            Client(sub.sid, sub.auth_token, http_client=SandboxHttpClient(sandbox.base_url)).api.accounts(
                sub.sid
            ).fetch()
        assert caught.value.status == 401
        assert control.get("/sandbox/messages")["total"] == 0
        # The released number is for sale again, and the default credentials are the documented ones.
        assert master.incoming_phone_numbers.create(phone_number="+14155550123").phone_number == "+14155550123"
        assert (sandbox.account_sid, sandbox.auth_token) == ("AC" + "0" * 32, "sandbox-auth-token")
