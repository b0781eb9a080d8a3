"""The fake LLM's HTTP server (aiohttp): the provider wires, the control API, and a thread to run it in.

``with FakeLLMServer(port=0) as fake: AsyncOpenAI(api_key=lane, base_url=fake.openai_base_url)``.
One event loop serves every lane; a reply costs a few dictionary operations and a write per token,
so a hundred conversations at once stay cheap. Handlers are cancelled when their client goes away
(``handler_cancellation``), so a hung request ends with the client that gave up on it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from types import TracebackType

from aiohttp import web

from .anthropic_wire import AnthropicWire
from .control import ControlApi
from .openai_wire import OpenAIWire
from .state import Lanes

logger = logging.getLogger("sandbox.llm")


def build_app(lanes: Lanes) -> web.Application:
    openai = OpenAIWire(lanes)
    anthropic = AnthropicWire(lanes)
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.add_routes(
        [
            web.post("/openai/v1/chat/completions", openai.openai),
            web.post("/openrouter/api/v1/chat/completions", openai.openrouter),
            web.post("/azure/openai/deployments/{deployment}/chat/completions", openai.azure),
            web.post("/anthropic/v1/messages", anthropic.messages),
            web.get("/healthz", _healthz),
            *ControlApi(lanes).routes(),
        ]
    )
    return app


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


class FakeLLMServer:
    """Runs the fake in a thread of its own (its own event loop), for tests and ``python -m sandbox.llm``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8098,
        *,
        first_token_delay: float = 0.0,
        token_delay: float = 0.0,
        tokens_per_chunk: int = 1,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.lanes = Lanes(
            first_token_delay=first_token_delay, token_delay=token_delay, tokens_per_chunk=tokens_per_chunk
        )
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/openai/v1"

    @property
    def openrouter_base_url(self) -> str:
        return self.base_url + "/openrouter/api/v1"

    @property
    def azure_endpoint(self) -> str:
        return self.base_url + "/azure"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url + "/anthropic"

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(target=self._run, name="fake-llm", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._failed is not None:
            raise RuntimeError(f"the fake LLM could not start on {self.host}:{self.requested_port}") from self._failed
        if not self.port:
            raise RuntimeError("the fake LLM did not start within 10 s")
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop = self._runner = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(), which raises it in the caller's thread
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        # No access log: it would cost more than answering does.
        runner = self._runner = web.AppRunner(
            build_app(self.lanes), access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.requested_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.requested_port
