"""Scripting one lane of a running fake LLM over its control API (stdlib only: usable from anywhere)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sandbox.control import control_call


class LaneControl:
    """``LaneControl("http://127.0.0.1:8098", "lane-key").script(replies=["Hi there."])``."""

    def __init__(self, base_url: str, lane: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.lane = lane
        self.timeout = timeout

    def script(self, *, replies: list[Any], append: bool = False) -> dict[str, Any]:
        return self._call("POST", "script", {"replies": replies, "append": append})

    def fail_next(self, count: int = 1, *, kind: str = "500") -> dict[str, Any]:
        return self._call("POST", "fail", {"count": count, "kind": kind})

    def configure(self, **settings: Any) -> dict[str, Any]:
        return self._call("POST", "settings", settings)

    def first_token_delay(self, seconds: float) -> dict[str, Any]:
        return self.configure(first_token_delay=seconds)

    def token_delay(self, seconds: float) -> dict[str, Any]:
        return self.configure(token_delay=seconds)

    def refuse_key(self, refuse: bool = True) -> dict[str, Any]:
        return self.configure(refuse=refuse)

    def requests(self, *, since: int = 0) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._call("GET", f"requests?since={since}")["items"]
        return items

    def describe(self) -> dict[str, Any]:
        return self._call("GET", "")

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "reset", {})

    def _call(self, method: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}/control/lanes/{quote(self.lane, safe='')}" + (f"/{action}" if action else "")
        return control_call(url, method=method, body=body, timeout=self.timeout, double="fake LLM")
