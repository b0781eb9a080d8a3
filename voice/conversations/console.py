"""The portal's "talk to your agent" console: a page whose browser socket runs the live engine, direction console.

The socket (ws/console/ on the relay server) is the portal's, not Twilio's: it is let in by the portal session
(its cookie, read in the tenant's schema, where the tenant's sessions live; an operator at least) and only
from a page of the tenant's own host (the Origin header: another site's page cannot borrow the session). The
browser speaks the relay protocol's caller side (prompt, interrupt) and hears the same text messages as
Twilio would; the agent's greeting comes as the first text, since no Twilio speaks it here.
"""

import json
import time
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.utils import tenant_context

from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.models import Tenant
from tenants.views import portal_access
from voice.agents.models import Agent
from voice.conversations.consumer import Refusal, RelayConsumer, header, host_name, tenant_for_host
from voice.conversations.engine import ConversationEngine
from voice.conversations.models import Conversation
from voice.conversations.relay import AGENT_ID, DIRECTION, relay_socket_url

logger = structlog.get_logger(__name__)

CONSOLE_PATH = "/ws/console/"
CONSOLE_ROLE = Role.OPERATOR


@portal_access(CONSOLE_ROLE)
def console_page(request: HttpRequest) -> HttpResponse:
    domain = current_tenant().get_primary_domain()
    socket_url = relay_socket_url(domain.domain if domain else request.get_host()).replace(
        settings.CONVERSATION_RELAY_PATH, CONSOLE_PATH
    )
    agents = Agent.objects.order_by("name").values("id", "name", "is_default")
    return render(request, "live/console.html", {"socket_url": socket_url, "agents": list(agents)})


def _session_user(session_key: str) -> User | None:
    """The portal user the session cookie belongs to (in the tenant's schema), if it may use the console."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    if not isinstance(user, User) or not user.is_active or not user.has_role(CONSOLE_ROLE):
        return None
    return user


def _cookie(scope: dict[str, Any], name: str) -> str:
    for part in header(scope, b"cookie").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def console_checked(scope: dict[str, Any]) -> tuple[Tenant, User] | Refusal:
    hostname = host_name(scope)
    tenant = tenant_for_host(hostname)
    if tenant is None or tenant.schema_name == "public":
        return Refusal(404, "unknown host")
    if tenant.is_suspended:
        return Refusal(423, "tenant suspended")
    if (urlsplit(header(scope, b"origin")).hostname or "") != hostname:
        return Refusal(403, "the console opens from the tenant's own pages only")
    session_key = _cookie(scope, settings.SESSION_COOKIE_NAME)
    if not session_key:
        return Refusal(403, "not signed in")
    with tenant_context(tenant):
        user = _session_user(session_key)
    if user is None:
        return Refusal(403, "not signed in, or not allowed to use the console")
    return tenant, user


class ConsoleConsumer(RelayConsumer):
    async def connect(self) -> None:
        checked = await database_sync_to_async(console_checked, thread_sensitive=False)(self.scope)
        if isinstance(checked, Refusal):
            logger.warning("console_refused", status=checked.status, reason=checked.reason)
            await self._deny(checked)
            return
        tenant, user = checked
        self.engine = ConversationEngine(
            tenant=tenant,
            send=self._send_json,
            close=self.close,
            direction=Conversation.Direction.CONSOLE,
            closes_itself=True,
        )
        await self.accept()
        agent_id = _query(self.scope, "agent")
        parameters = {DIRECTION: Conversation.Direction.CONSOLE, "contact_name": user.name, "contact_email": user.email}
        if agent_id.isdigit():
            parameters[AGENT_ID] = agent_id
        await self.engine.receive(
            {"type": "setup", "callSid": "", "from": "", "to": "", "customParameters": parameters}
        )
        config = self.engine.config
        greeting = config.greeting.strip() if config is not None else ""
        await self._send_json(
            {"type": "setup", "agent": config.name if config else "", "conversationId": self.engine.conversation_id}
        )
        if greeting:
            await self._send_json({"type": "text", "token": greeting, "last": True})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        received_at = time.monotonic()
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if self.engine is None or not isinstance(message, dict):
            return
        if message.get("type") not in ("prompt", "interrupt", "dtmf"):  # never a setup: the console made its own
            return
        try:
            await self.engine.receive(message, received_at=received_at)
        except Exception:  # the database is down, say: the browser sees the socket fail
            logger.exception("console_message_failed", kind=message.get("type"))
            await self.close(code=1011)


def _query(scope: dict[str, Any], name: str) -> str:
    values = parse_qs(bytes(scope.get("query_string") or b"").decode("latin-1")).get(name) or [""]
    return values[0]
