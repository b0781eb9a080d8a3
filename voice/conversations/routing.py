"""The WebSocket URLconf: what config.asgi routes sockets to, as the URLconfs route HTTP."""

from channels.routing import URLRouter
from django.conf import settings
from django.urls import path

from voice.conversations.console import CONSOLE_PATH, ConsoleConsumer
from voice.conversations.consumer import EchoConsumer, RelayConsumer

websocket_urlpatterns = [
    path(settings.CONVERSATION_RELAY_PATH.lstrip("/"), RelayConsumer.as_asgi()),
    path(CONSOLE_PATH.lstrip("/"), ConsoleConsumer.as_asgi()),
]
if settings.CONVERSATION_ECHO_SOCKET:
    websocket_urlpatterns.append(path("ws/echo/", EchoConsumer.as_asgi()))

websocket_application = URLRouter(websocket_urlpatterns)
