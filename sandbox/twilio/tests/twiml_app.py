"""A scripted TwiML web application for the simulator tests: paths answer fixed documents, every request is kept.

    app.route("/voice", "<Response><Say>Hi</Say></Response>")
    app.route("/broken", status=500)
    app.route("/slow", "<Response/>", delay=0.5)

Unknown paths answer 404. ``hits(path)`` lists the requests a path got, oldest first, each with the
full URL as requested (what X-Twilio-Signature covers) and its parameters (form for POST, query for GET).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator


@dataclass(frozen=True)
class Route:
    body: bytes
    status: int
    content_type: str
    delay: float


@dataclass
class Hit:
    method: str
    url: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]

    @property
    def params(self) -> dict[str, str]:
        if self.method == "POST":
            return self.form
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query, keep_blank_values=True).items()}

    def signed_by(self, auth_token: str) -> bool:
        """The request validates with twilio-python's own RequestValidator and this token."""
        params = self.form if self.method == "POST" else {}
        return bool(RequestValidator(auth_token).validate(self.url, params, self.headers.get("X-Twilio-Signature", "")))


@dataclass
class TwimlApp:
    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(
        self,
        path: str,
        twiml: str = "",
        *,
        status: int = 200,
        content_type: str = "text/xml",
        delay: float = 0.0,
    ) -> str:
        """Serve `twiml` at `path`; returns the absolute URL."""
        self.routes[path] = Route(twiml.encode(), status, content_type, delay)
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base_url + path

    def hits(self, path: str) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.requests if hit.path == path]

    def paths(self) -> list[str]:
        with self.lock:
            return [hit.path for hit in self.requests]


def _handler(app: TwimlApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall between them

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path = self.path.partition("?")[0]
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            with app.lock:
                app.requests.append(Hit(self.command, app.base_url + self.path, path, dict(self.headers.items()), form))
            route = app.routes.get(path) or Route(b"not here", 404, "text/plain", 0.0)
            if route.delay:
                time.sleep(route.delay)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        do_POST = do_GET

    return Handler


def serve() -> Iterator[TwimlApp]:
    app = TwimlApp()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(app))
    server.daemon_threads = True
    app.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
