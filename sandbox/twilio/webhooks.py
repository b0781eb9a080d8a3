"""Outgoing HTTP: signed webhook requests (status callbacks, TwiML fetches) and the workers that send them.

Signing is Twilio's scheme, implemented here independently of twilio-python so the sandbox runs
without it and the tests can check it against ``twilio.request_validator.RequestValidator``:
HMAC-SHA1 over the full URL followed by every POST parameter name+value sorted by name, keyed with
the auth token of the account that owns the resource, base64-encoded into X-Twilio-Signature. For
GET requests the parameters are in the URL and only the URL is signed.

Requests for one resource always go to the same worker (sharded by SID), so a call's or message's
callbacks leave in lifecycle order unless the out-of-order fault says otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

logger = logging.getLogger("sandbox.twilio.webhooks")

USER_AGENT = "TwilioProxy/1.1"
# Where *.localhost tenant hosts are served from: this machine, or (in docker compose) the web service.
LOCALHOST_ADDRESS = os.environ.get("SANDBOX_LOCALHOST_ADDRESS", "127.0.0.1")
MAX_BODY = 1 << 20  # TwiML documents beyond 1 MiB are not read


def signature(auth_token: str, url: str, params: Mapping[str, str] | None) -> str:
    payload = url
    if params:
        payload += "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class WebhookResult:
    status: int | None
    body: bytes
    content_type: str
    error: str | None
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class SignedRequest:
    url: str  # the URL requested, query included: what the receiver must validate against
    method: str
    body: bytes
    headers: dict[str, str]


def build_request(
    url: str, method: str, params: Mapping[str, str], auth_token: str, idempotency_token: str
) -> SignedRequest:
    method = method.upper()
    if method == "GET":
        # Twilio appends the parameters to the URL's own query string and signs the result.
        separator = "&" if urlsplit(url).query else "?"
        full_url = url + (separator + urlencode(params) if params else "")
        return SignedRequest(
            full_url, "GET", b"", _headers(signature(auth_token, full_url, None), idempotency_token, None)
        )
    body = urlencode(params).encode()
    return SignedRequest(
        url,
        "POST",
        body,
        _headers(signature(auth_token, url, params), idempotency_token, "application/x-www-form-urlencoded"),
    )


def _headers(sig: str, idempotency_token: str, content_type: str | None) -> dict[str, str]:
    headers = {
        "X-Twilio-Signature": sig,
        # Twilio's webhook idempotency header: a retried or duplicated delivery repeats the same token.
        "I-Twilio-Idempotency-Token": idempotency_token,
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
    }
    if content_type:
        headers["Content-Type"] = content_type
    return headers


class HttpSender:
    """http.client with one kept-alive connection per (thread, host): cheap enough for hundreds/s."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def send(self, request: SignedRequest) -> WebhookResult:
        started = time.monotonic()
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return WebhookResult(None, b"", "", f"unsupported URL {request.url!r}", 0.0)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        key = (parts.scheme, parts.netloc)
        host, headers = parts.hostname, request.headers
        if host.endswith(".localhost"):
            # RFC 6761: *.localhost is the loopback, whatever the resolver says (tenant hosts in development).
            host, headers = LOCALHOST_ADDRESS, {**headers, "Host": parts.netloc}
        for attempt in (1, 2):
            connection, reused = self._connection(key, parts.scheme, host, parts.port)
            try:
                connection.request(request.method, target, body=request.body or None, headers=headers)
                response = connection.getresponse()
                body = response.read(MAX_BODY)
                if response.will_close or not response.isclosed():
                    # Closing, or a body too big to have been read to its end: don't reuse the connection.
                    self._drop(key)
                return WebhookResult(
                    response.status,
                    body,
                    response.getheader("Content-Type", ""),
                    None,
                    (time.monotonic() - started) * 1000,
                )
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(key)
                # A kept-alive connection the server had already closed: retry once on a fresh one.
                if reused and attempt == 1:
                    continue
                return WebhookResult(None, b"", "", f"{type(exc).__name__}: {exc}", (time.monotonic() - started) * 1000)
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                return WebhookResult(None, b"", "", f"{type(exc).__name__}: {exc}", (time.monotonic() - started) * 1000)
        raise AssertionError("unreachable")

    def _connection(
        self, key: tuple[str, str], scheme: str, host: str, port: int | None
    ) -> tuple[http.client.HTTPConnection, bool]:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._pool()
        connection = pool.get(key)
        if connection is not None:
            return connection, True
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = cls(host, port, timeout=self.timeout)
        pool[key] = connection
        return connection, False

    def _pool(self) -> dict[tuple[str, str], http.client.HTTPConnection]:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _drop(self, key: tuple[str, str]) -> None:
        connection = self._pool().pop(key, None)
        if connection is not None:
            connection.close()

    def close_thread_connections(self) -> None:
        for key in list(self._pool()):
            self._drop(key)


class Dispatcher:
    """A fixed set of worker threads, each with its own FIFO; work for one key always hits one worker."""

    def __init__(self, workers: int) -> None:
        self._queues: list[queue.SimpleQueue[Callable[[], None] | None]] = [
            queue.SimpleQueue() for _ in range(max(1, workers))
        ]
        self._threads: list[threading.Thread] = []
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._idle = threading.Condition(self._pending_lock)
        self.on_thread_exit: Callable[[], None] | None = None

    def start(self) -> None:
        for index, work_queue in enumerate(self._queues):
            thread = threading.Thread(
                target=self._run, args=(work_queue,), name=f"sandbox-webhooks-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(self, key: str, work: Callable[[], None]) -> None:
        with self._pending_lock:
            self._pending += 1
        # crc32, not hash(): stable across processes, so a seeded run shards the same way.
        self._queues[zlib.crc32(key.encode()) % len(self._queues)].put(work)

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 2.0) -> None:
        for work_queue in self._queues:
            work_queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def _run(self, work_queue: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        try:
            while True:
                work = work_queue.get()
                if work is None:
                    return
                try:
                    work()
                except Exception:  # a bug in one delivery must not kill the worker
                    logger.exception("webhook work failed")
                finally:
                    with self._idle:
                        self._pending -= 1
                        if self._pending == 0:
                            self._idle.notify_all()
        finally:
            if self.on_thread_exit:
                self.on_thread_exit()
