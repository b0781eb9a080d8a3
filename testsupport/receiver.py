"""A tenant's own HTTP endpoint, for the tests of what the platform POSTs out (forwarded SMS, end-of-call
webhooks): it answers with the statuses it is told to, then 200, and keeps what it got."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver:
    def __init__(self, statuses: list[int], *, path: str = "/hook") -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    """Parametrize indirectly with the statuses to answer first: `@pytest.mark.parametrize("receiver", [[503]],
    indirect=True)`."""
    started = Receiver(list(getattr(request, "param", [])))
    yield started
    started.server.shutdown()
