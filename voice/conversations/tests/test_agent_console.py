"""The portal's console: the same engine on a browser socket, let in by the portal session from the tenant's
own pages only, and saved as a console conversation of that tenant."""

import json
import socket

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from testsupport.llm import FakeLLM
from testsupport.tenants import TenantSetup
from voice.conversations.models import Conversation, Turn
from voice.conversations.tests.live_support import RelayServer, make_agent, settled


def session_of(setup: TenantSetup) -> str:
    return setup.signed_in().cookies[settings.SESSION_COOKIE_NAME].value


def open_console(
    server: RelayServer, setup: TenantSetup, *, session: str | None, origin: str | None = None, agent: int | None = None
) -> ClientConnection:
    headers = {"Origin": origin or f"http://{setup.host}:{server.port}"}
    if session:
        headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session}"
    query = f"?agent={agent}" if agent else ""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return connect(
        f"ws://{setup.host}:{server.port}/ws/console/{query}", sock=sock, additional_headers=headers, open_timeout=10
    )


def refused(server: RelayServer, setup: TenantSetup, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refusal:
        open_console(server, setup, **kwargs).close()  # type: ignore[arg-type]
    return refusal.value.response.status_code


def test_a_signed_in_operator_talks_to_the_chosen_agent_and_the_conversation_is_saved(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, _ = live_pair
    make_agent(alpha, make_default=True)
    chosen = make_agent(alpha, name="Sales", greeting="Sales here, hi!", system_prompt="You sell.")
    page = alpha.signed_in().get("/ai-conversations/console/")
    assert page.status_code == 200 and f"ws://{alpha.host}:{relay_server.port}/ws/console/" in page.content.decode()

    with open_console(relay_server, alpha, session=session_of(alpha), agent=chosen.pk) as ws:
        setup = json.loads(ws.recv(timeout=10))
        greeting = json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"type": "prompt", "voicePrompt": "What do you sell?", "last": True}))
        tokens = []
        while not (message := json.loads(ws.recv(timeout=10)))["last"]:
            tokens.append(message["token"])

    assert setup["type"] == "setup" and setup["agent"] == "Sales"
    assert greeting == {"type": "text", "token": "Sales here, hi!", "last": True}
    assert "".join(tokens) == "You said: What do you sell?" and len(tokens) > 1
    assert fake_llm.bodies()[0]["messages"][0]["content"].startswith("You sell.")
    [conversation] = settled(alpha)
    assert (conversation.direction, conversation.call_sid, conversation.agent_id) == ("console", "", chosen.pk)
    with tenant_context(alpha.tenant):
        assert list(Turn.objects.filter(conversation=conversation).values_list("role", flat=True)) == [
            "assistant",
            "user",
            "assistant",
        ]


def test_the_console_needs_a_session_of_its_own_tenant_and_a_page_of_its_host(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer
) -> None:
    alpha, beta = live_pair
    alpha_session = session_of(alpha)

    assert refused(relay_server, alpha, session=None) == 403
    assert refused(relay_server, alpha, session="not-a-session") == 403
    assert refused(relay_server, beta, session=alpha_session) == 403  # alpha's session means nothing on beta
    assert refused(relay_server, alpha, session=alpha_session, origin="http://evil.example") == 403
    with tenant_context(beta.tenant):
        assert not Conversation.objects.exists()
