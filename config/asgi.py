"""ASGI entry point (`uvicorn config.asgi:application`): HTTP goes to Django as under WSGI, WebSockets to the
socket URLconf (voice.conversations.routing), which this module imports like a URLconf once Django is set up."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
http_application = get_asgi_application()

from voice.conversations.routing import websocket_application  # noqa: E402  (needs the apps loaded above)

application = ProtocolTypeRouter({"http": http_application, "websocket": websocket_application})
