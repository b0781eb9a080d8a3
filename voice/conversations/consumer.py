"""The ConversationRelay socket: Twilio's upgrade checked, the tenant found, the engine fed.

django-tenants' middleware does not run for WebSockets, so the tenant comes from the Host header here, by
the same Domain rows (a host no tenant has is refused), and every database access of the socket runs in its
schema (engine.in_tenant). The upgrade must carry Twilio's X-Twilio-Signature over the socket's URL as the
TwiML named it (relay.relay_socket_url of the tenant's primary domain: configuration, not the Host header)
with the tenant's auth token and no parameters, as Twilio signs ConversationRelay.

A refused upgrade is answered with an HTTP status (the ASGI WebSocket denial response) and a one-line
reason: 403 bad or missing signature, 404 unknown host, 423 suspended tenant. A server without the denial
extension closes the handshake instead (the client sees 403).
"""

import json
import time
from dataclasses import dataclass
from typing import Any

import structlog
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from telephony.signatures import is_url_signed_by_twilio, twilio_account_sid_for
from tenants.models import Domain, Tenant
from voice.conversations.engine import ConversationEngine
from voice.conversations.relay import relay_socket_url

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


def header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def host_name(scope: dict[str, Any]) -> str:
    host = header(scope, b"host").strip().lower()
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def tenant_for_host(hostname: str) -> Tenant | None:
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    return domain.tenant if domain is not None else None


def _signed_by_twilio(tenant: Tenant, scope: dict[str, Any]) -> bool:
    signature = header(scope, b"x-twilio-signature")
    domain = tenant.get_primary_domain()
    url = relay_socket_url(domain.domain if domain else "")
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    if query:
        url += "?" + query
    return is_url_signed_by_twilio(tenant, url=url, signature=signature)


def upgrade_checked(scope: dict[str, Any]) -> Tenant | Refusal:
    """The tenant whose host the socket is on, if Twilio signed its upgrade and the tenant may take calls."""
    tenant = tenant_for_host(host_name(scope))
    if tenant is None or tenant.schema_name == "public":
        return Refusal(404, "unknown host")
    if tenant.is_suspended:
        return Refusal(423, "tenant suspended")
    if not _signed_by_twilio(tenant, scope):
        return Refusal(403, "invalid or missing X-Twilio-Signature")
    return tenant


class RelayConsumer(AsyncWebsocketConsumer):
    engine: ConversationEngine | None = None
    account_sid: str = ""  # the tenant's Twilio account: the only one whose `setup` this socket takes

    async def connect(self) -> None:
        checked = await database_sync_to_async(upgrade_checked, thread_sensitive=False)(self.scope)
        if isinstance(checked, Refusal):
            logger.warning(
                "relay_upgrade_refused", status=checked.status, reason=checked.reason, host=host_name(self.scope)
            )
            await self._deny(checked)
            return
        structlog.contextvars.bind_contextvars(tenant=checked.schema_name)
        self.account_sid = await database_sync_to_async(twilio_account_sid_for, thread_sensitive=False)(checked)
        self.engine = ConversationEngine(tenant=checked, send=self._send_json, close=self.close)
        await self.accept()

    async def _deny(self, refusal: Refusal) -> None:
        if "websocket.http.response" in self.scope.get("extensions", {}):
            body = json.dumps({"error": refusal.reason}).encode()
            await self.base_send(
                {
                    "type": "websocket.http.response.start",
                    "status": refusal.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await self.base_send({"type": "websocket.http.response.body", "body": body})
        else:
            await self.close()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """channels' dispatch without the hop it makes before every message to close stale database connections
        on its one shared sync thread: this socket never uses that thread's connection (its database work runs
        on pool threads, through database_sync_to_async, which closes stale connections around every call), so
        the hop only put each prompt in line behind every other socket's messages before the engine saw it."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        received_at = time.monotonic()
        if self.engine is None:
            return
        try:
            message = json.loads(text_data or (bytes_data or b"").decode())
        except (ValueError, UnicodeDecodeError):
            logger.info("relay_message_not_json")
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "setup" and message.get("accountSid") != self.account_sid:
            logger.warning("relay_setup_refused", reason="setup names another Twilio account")
            await self.close(code=1008)
            return
        try:
            await self.engine.receive(message, received_at=received_at)
        except Exception:  # e.g. the database is down at setup: Twilio hears the socket fail (and its action runs)
            logger.exception("relay_message_failed", kind=message.get("type"))
            await self.close(code=1011)

    async def disconnect(self, code: int) -> None:
        if self.engine is not None:
            await self.engine.disconnected()

    async def _send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message))


class EchoConsumer(AsyncWebsocketConsumer):
    """A bare echo on the same server: the baseline bench/agent_turns.py measures the engine against
    (routed only when settings.CONVERSATION_ECHO_SOCKET is on)."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)
