"""What the live-conversation tests share: a real uvicorn serving config.asgi (HTTP and the relay socket) on
committed tenant data, a signed relay socket as Twilio opens it, and an agent made the way the API makes one."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from django.apps import apps
from django.conf import settings
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker
from twilio.request_validator import RequestValidator
from websockets.sync.client import ClientConnection, connect

from sandbox.twilio import SandboxServer
from telephony.models import Communication
from telephony.registry.models import TwilioAccount
from telephony.statuses import Status
from tenants.db import connection
from testsupport.processes import free_port
from testsupport.tenants import TenantSetup
from testsupport.twilio import connect_to_sandbox
from testsupport.wait import wait_until
from voice.agents import services as agent_services
from voice.agents.models import Agent
from voice.conversations.models import Conversation, ConversationAnalysis
from voice.conversations.relay import relay_socket_url

CALLER = "+14155559876"
# What a test with committed data leaves in a tenant's schema, emptied after it, in this order.
LIVE_APPS = ("conversations", "inbound", "agents", "telephony")


@dataclass(frozen=True)
class RelayServer:
    port: int

    def socket_url(self, setup: TenantSetup) -> str:
        return relay_socket_url(setup.host)


@pytest.fixture(scope="module")
def relay_server(django_db_setup: None) -> Iterator[RelayServer]:
    """uvicorn in this process (so settings and the fake LLM's lane are the test's), serving HTTP and WebSockets;
    the tenants' URLs point at it for the module's duration."""
    port = free_port()
    originals = {
        name: getattr(settings, name)
        for name in ("CONVERSATION_RELAY_PORT", "CONVERSATION_RELAY_SCHEME", "SITE_PORT", "CONVERSATION_ECHO_SOCKET")
    }
    settings.CONVERSATION_RELAY_PORT, settings.CONVERSATION_RELAY_SCHEME, settings.SITE_PORT = port, "ws", str(port)
    # The server's threads share this alias's settings: each closes its connection after use, so none outlives
    # the server (the test database is dropped at the end of the run).
    max_age, connection.settings_dict["CONN_MAX_AGE"] = connection.settings_dict["CONN_MAX_AGE"], 0
    server = uvicorn.Server(
        uvicorn.Config("config.asgi:application", host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="relay-uvicorn", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30, interval=0.05, message="uvicorn to start")
    yield RelayServer(port=port)
    server.should_exit = True
    thread.join(timeout=10)
    connection.settings_dict["CONN_MAX_AGE"] = max_age
    for name, value in originals.items():
        setattr(settings, name, value)


def _empty(setup: TenantSetup) -> None:
    with tenant_context(setup.tenant):
        for label in LIVE_APPS:
            for model in reversed(list(apps.get_app_config(label).get_models())):
                model._default_manager.all().delete()


@pytest.fixture
def live_pair(
    tenant_pair: tuple[TenantSetup, TenantSetup],
    twilio_sandbox: SandboxServer,
    relay_server: RelayServer,
    fake_llm: Any,
    django_db_blocker: DjangoDbBlocker,
) -> Iterator[tuple[TenantSetup, TenantSetup]]:
    """alpha and beta on the sandbox with committed data the server's threads read; the whole test runs with the
    database unblocked (the server's threads share pytest-django's blocker), and their rows are deleted after."""
    with django_db_blocker.unblock():
        for setup in reversed(tenant_pair):  # alpha last: it owns the shared sender number in the sandbox
            connect_to_sandbox(setup)
        try:
            yield tenant_pair
        finally:
            for setup in tenant_pair:
                settled(setup)
                _empty(setup)
            connection.set_schema_to_public()


def settled(setup: TenantSetup, timeout: float = 15.0) -> list[Conversation]:
    """The tenant's conversations once the server has finished each (ended and handed on to the results)."""

    def finished() -> tuple[list[Conversation]] | None:
        with tenant_context(setup.tenant):
            conversations = list(Conversation.objects.order_by("pk"))
            done = ConversationAnalysis.objects.filter(conversation__in=conversations).count() == len(conversations)
            live = any(conversation.status == Conversation.Status.LIVE for conversation in conversations)
        connection.set_schema_to_public()
        return (conversations,) if done and not live else None

    return wait_until(finished, timeout=timeout, interval=0.05, message="the conversations to finish")[0]


def make_agent(setup: TenantSetup, *, make_default: bool = False, **fields: Any) -> Agent:
    values: dict[str, Any] = {
        "name": "Front desk",
        "system_prompt": "You answer the phone for a dental practice.",
        "greeting": "Hello, Bright Smiles dental.",
        "llm_provider": "fake",
        "llm_model": "fake-model",
        **fields,
    }
    with tenant_context(setup.tenant):
        return agent_services.agent_create(fields=values, created_by="test", make_default=make_default)


def auth_token(setup: TenantSetup) -> str:
    return TwilioAccount.objects.get(tenant=setup.tenant).auth_token


def placed_call(setup: TenantSetup, *, conversation: Conversation, sid: str) -> Communication:
    """The outbound call voice.conversations.outbound places for `conversation`, as Twilio took it (SID `sid`)."""
    with tenant_context(setup.tenant):
        return Communication.objects.create(
            channel=Communication.Channel.CALL,
            to_number=conversation.customer_number,
            from_number=conversation.agent_number,
            variables={"conversation_id": conversation.pk},
            twilio_sid=sid,
            status=Status.IN_PROGRESS,
        )


def account_sid(setup: TenantSetup) -> str:
    return TwilioAccount.objects.get(tenant=setup.tenant).account_sid


@dataclass
class Caller:
    """Twilio's side of one relay socket, driven by hand."""

    ws: ClientConnection
    account_sid: str  # the tenant's Twilio account, as Twilio names it in `setup`
    received: list[dict[str, Any]] = field(default_factory=list)

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def setup(self, *, call_sid: str, to: str, parameters: dict[str, str] | None = None) -> None:
        self.send(
            {
                "type": "setup",
                "accountSid": self.account_sid,
                "sessionId": "VX" + call_sid[2:],
                "callSid": call_sid,
                "from": CALLER,
                "to": to,
                "direction": "inbound",
                "customParameters": parameters or {},
            }
        )

    def say(self, text: str) -> None:
        self.send({"type": "prompt", "voicePrompt": text, "lang": "en-US", "last": True})

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        message = json.loads(self.ws.recv(timeout=timeout))
        self.received.append(message)
        return message

    def reply(self, timeout: float = 10.0) -> tuple[str, list[dict[str, Any]]]:
        """The agent's reply up to its text with last=true, or up to `end` (returned among the messages)."""
        tokens, messages = [], []
        while True:
            message = self.next(timeout)
            messages.append(message)
            if message["type"] == "text":
                tokens.append(message["token"])
                if message["last"]:
                    break
            elif message["type"] == "end":
                break
        return "".join(tokens), messages

    def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Whatever arrives within `seconds`."""
        got, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.next(left))
            except TimeoutError:
                break
        return got


def open_relay(
    server: RelayServer, setup: TenantSetup, *, token: str | None, host: str | None = None, url: str | None = None
) -> ClientConnection:
    """The socket as Twilio opens it: to the tenant's host, signed over the URL with `token` (None: unsigned)."""
    signed_url = url or server.socket_url(setup)
    signed = token is not None
    headers = {"X-Twilio-Signature": RequestValidator(token or "").compute_signature(signed_url, {})} if signed else {}
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    target = f"ws://{host or setup.host}:{server.port}{settings.CONVERSATION_RELAY_PATH}"
    return connect(target, sock=sock, additional_headers=headers, open_timeout=10, close_timeout=2)
