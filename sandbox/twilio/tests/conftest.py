"""Fixtures for the Twilio sandbox tests: one sandbox and one webhook receiver per test session.

Nothing here touches the database. Tests talk to the sandbox's Twilio API only through the real
twilio-python Client (with SandboxHttpClient), and to its /sandbox/ control API with plain requests.
Each test that needs isolation works in its own fresh subaccount.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from twilio.rest import Client

from sandbox.twilio import SandboxHttpClient, SandboxServer, Timing
from sandbox.twilio.tests.support import Control, Receiver, Tenant, receiver_handler
from sandbox.twilio.tests.twiml_app import TwimlApp, serve


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver_handler(receiver))
    server.daemon_threads = True
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(
        port=0,
        account_sid="AC" + secrets.token_hex(16),
        auth_token=secrets.token_hex(16),
        timing=Timing.uniform(0.01),
        record_responses=True,  # the OpenAPI test validates every response of the session
        callback_timeout=5.0,
    )
    with server:
        yield server


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[Control]:
    """The /sandbox/ control API; faults and timing are put back after each test that uses it."""
    control = Control(sandbox.base_url)
    timing = control.get("/sandbox/timing")
    yield control
    control.post("/sandbox/faults", {})
    control.post("/sandbox/timing", timing)


@pytest.fixture(scope="session")
def make_client(sandbox: SandboxServer) -> Callable[..., Client]:
    def make(account_sid: str, auth_token: str, **http_kwargs: Any) -> Client:
        return Client(account_sid, auth_token, http_client=SandboxHttpClient(sandbox.base_url, **http_kwargs))

    return make


@pytest.fixture(scope="session")
def master(sandbox: SandboxServer, make_client: Callable[..., Client]) -> Client:
    return make_client(sandbox.account_sid, sandbox.auth_token)


@pytest.fixture
def tenant(master: Client, make_client: Callable[..., Client]) -> Tenant:
    """A fresh subaccount, so list and filter assertions see only this test's records."""
    account = master.api.accounts.create(friendly_name=f"tenant-{uuid.uuid4().hex[:8]}")
    assert account.sid is not None and account.auth_token is not None
    return Tenant(account.sid, account.auth_token, make_client(account.sid, account.auth_token))


@pytest.fixture
def twiml_app() -> Iterator[TwimlApp]:
    """A fresh scripted TwiML web application for one test (see twiml_app.py)."""
    yield from serve()
