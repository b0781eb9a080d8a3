"""The HTTP server: one thread per connection, HTTP/1.1 keep-alive, Twilio API plus /sandbox/ control API.

twilio-python talks through a requests Session, so connections are kept alive and a connection's
thread serves many requests; responses go out in a single write with Nagle off, so small
request/response pairs don't stall on delayed ACKs. The request path does no logging to stderr and
holds the state lock only for dictionary work.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from .behaviour import Engine, Timing
from .control import ControlApi
from .errors import error_body
from .faults import FaultConfig, FaultInjector, RequestFault
from .ids import new_sid
from .rest.common import Request, Response
from .rest.router import TwilioApi
from .state import Store

logger = logging.getLogger("sandbox.twilio")

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class SandboxServer:
    """A local Twilio: ``with SandboxServer(port=0) as sandbox: Client(..., http_client=SandboxHttpClient(sandbox.base_url))``.

    ``timing`` is a :class:`~sandbox.twilio.behaviour.Timing`, a number of seconds for every
    lifecycle step (0 = as fast as possible), a dict of step lengths, or None for the defaults.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8099,
        account_sid: str | None = None,
        auth_token: str | None = None,
        timing: Timing | float | dict[str, Any] | None = None,
        *,
        record_responses: bool = False,
        callback_workers: int = 8,
        callback_timeout: float = 15.0,
        out_of_order_hold: float = 2.0,
        journal_limit: int = 200_000,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.account_sid = account_sid or DEFAULT_ACCOUNT_SID
        self.auth_token = auth_token or DEFAULT_AUTH_TOKEN
        self.record_responses = record_responses
        self.store = Store(self.account_sid, self.auth_token, journal_limit)
        self.faults = FaultInjector()
        self.engine = Engine(
            self.store,
            self.faults,
            Timing.coerce(timing),
            workers=callback_workers,
            callback_timeout=callback_timeout,
            hold_timeout=out_of_order_hold,
        )
        self.api = TwilioApi(self.store, self.engine)
        self.control = ControlApi(self)
        self.stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Binds, starts serving in a background thread and returns once the socket is listening."""
        if self._httpd is not None:
            raise RuntimeError("sandbox already started")
        self.stopping.clear()
        self._httpd = _HttpServer((self.host, self.requested_port), self)
        self.engine.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()  # releases requests held by delay/timeout faults
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread:
            self._thread.join(2.0)
        self.engine.stop()
        self._httpd = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("sandbox not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # --- in-process conveniences (the same things the /sandbox/ API does) ---------------------------

    @property
    def timing(self) -> Timing:
        return self.engine.timing

    @timing.setter
    def timing(self, value: Timing | float | dict[str, Any] | None) -> None:
        self.engine.timing = Timing.coerce(value)

    def set_faults(self, **fields: Any) -> FaultConfig:
        config = FaultConfig.from_json(fields)
        self.faults.configure(config)
        return config

    def reset(self) -> None:
        self.engine.reset()
        self.store.reset()
        self.faults.configure(FaultConfig())

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self.engine.wait_idle(timeout)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for connections parked in keep-alive or a fault
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections give their thread back eventually
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # per-request stderr lines would cost more than the request itself

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def _handle(self) -> None:
        received_at, received_monotonic = time.time(), time.monotonic()
        sandbox = self.server.sandbox
        method = self.command
        path, _, query_string = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""

        if path == "/sandbox" or path.startswith("/sandbox/"):
            # The Host the caller reached us by is where it can fetch what the sandbox links to (recordings).
            host = self.headers.get("Host")
            self._send(sandbox.control.handle(method, path, query_string, body, host=host))
            return

        fault = sandbox.faults.for_request(method, path)
        response: Response | None = None
        if fault is not None:
            if fault.delay_s:
                sandbox.stopping.wait(fault.delay_s)
            if fault.timeout_hold_s is not None and not fault.timeout_after_commit:
                self._drop(fault.timeout_hold_s)
                self._log_request(method, path, query_string, None, "timeout", received_at, received_monotonic)
                return
            if fault.status == 429:
                response = Response(
                    429,
                    error_body(429, 20429, "Too Many Requests"),
                    {"Retry-After": str(fault.retry_after_seconds)},
                )
            elif fault.status == 500:
                response = Response(500, error_body(500, 20500, "Internal Server Error"))
        if response is None:
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
            request = Request(
                method,
                path,
                parse_qs(query_string, keep_blank_values=True) if query_string else {},
                form,
                self.headers.get("Authorization"),
                received_at,
                received_monotonic,
            )
            response = sandbox.api.handle(request)
        if fault is not None and fault.timeout_hold_s is not None:
            # The request took effect; the client never hears so.
            self._drop(fault.timeout_hold_s)
            self._log_request(method, path, query_string, None, "timeout", received_at, received_monotonic)
            return
        if sandbox.record_responses and response.raw is None:  # media is not JSON: nothing to check it against
            sandbox.store.journals.responses.append(
                {
                    "method": method,
                    "path": path,
                    "query": query_string,
                    "status": response.status,
                    "body": response.body,
                }
            )
        self._log_request(
            method, path, query_string, response.status, _fault_name(fault), received_at, received_monotonic
        )
        self._send(response)

    def _log_request(
        self,
        method: str,
        path: str,
        query: str,
        status: int | None,
        fault: str | None,
        received_at: float,
        received_monotonic: float,
    ) -> None:
        self.server.sandbox.store.journals.requests.append(
            {
                "method": method,
                "path": path,
                "query": query,
                "status": status,
                "fault": fault,
                "received_at": received_at,
                "received_monotonic": received_monotonic,
                "elapsed_ms": round((time.monotonic() - received_monotonic) * 1000, 3),
            }
        )

    def _send(self, response: Response) -> None:
        lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}"]
        if response.raw is not None:
            payload = response.raw
            lines.append(f"Content-Type: {response.content_type or 'application/octet-stream'}")
        elif response.body is not None:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
            lines.append("Content-Type: application/json; charset=utf-8")
        else:
            payload = b""
        lines.append(f"Content-Length: {len(payload)}")
        lines.append(f"Twilio-Request-Id: {new_sid('RQ')}")
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # One write: header and body in one segment, so no Nagle/delayed-ACK stall on keep-alive.
        self.wfile.write(head + (b"" if self.command == "HEAD" else payload))

    def _drop(self, hold_s: float) -> None:
        """Hold the request past the client's timeout, then close the connection without answering."""
        self.server.sandbox.stopping.wait(hold_s)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _fault_name(fault: RequestFault | None) -> str | None:
    if fault is None:
        return None
    if fault.status:
        return str(fault.status)
    return "delay" if fault.delay_s else None
