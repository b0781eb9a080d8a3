"""The fake LLM's own control API under /control/ (not part of any provider's; no auth: a dev tool).

=======  ================================  =============================================================
Method   Path                              What
=======  ================================  =============================================================
GET      /control/                         defaults and how many lanes exist
POST     /control/reset                    forget every lane
GET      /control/lanes/{lane}             the lane's settings and what is left of its script
POST     /control/lanes/{lane}/script      {"replies": [reply, ...], "append": false}: the next answers,
                                           in order; a reply is a string or {"text", "tool_calls":
                                           [{"name", "arguments", "id"?}], "json", "first_token_delay",
                                           "token_delay"}; once used up the lane echoes again
POST     /control/lanes/{lane}/fail        {"count": 1, "kind": "500"}: the next count requests fail
                                           (kinds in state.FAILURE_KINDS), before any scripted reply
POST     /control/lanes/{lane}/settings    {"first_token_delay", "token_delay", "hang_seconds", "refuse",
                                           "tokens_per_chunk"}
GET      /control/lanes/{lane}/requests    {"items": [...]}: what the lane received, oldest first
                                           (wire, path, query, headers without secrets, body, stream,
                                           model, failure, received_at); ?since=N skips the first N
POST     /control/lanes/{lane}/reset       forget the lane (script, failures, settings, requests)
=======  ================================  =============================================================

A lane is the API key a client sends (Authorization: Bearer, api-key or x-api-key). Bad input
answers 400 with {"error": "<field>: <what is wrong>"} and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .state import Lanes, Reply, ScriptError, parse_failure


class ControlApi:
    def __init__(self, lanes: Lanes) -> None:
        self.lanes = lanes

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/control/", self.info),
            web.post("/control/reset", self.reset_all),
            web.get("/control/lanes/{lane}", self.lane),
            web.post("/control/lanes/{lane}/script", self.script),
            web.post("/control/lanes/{lane}/fail", self.fail),
            web.post("/control/lanes/{lane}/settings", self.settings),
            web.get("/control/lanes/{lane}/requests", self.requests),
            web.post("/control/lanes/{lane}/reset", self.reset),
        ]

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "lanes": len(self.lanes),
                "first_token_delay": self.lanes.first_token_delay,
                "token_delay": self.lanes.token_delay,
                "tokens_per_chunk": self.lanes.tokens_per_chunk,
                "started_at": self.lanes.started_at,
            }
        )

    async def reset_all(self, request: web.Request) -> web.Response:
        self.lanes.reset_all()
        return web.json_response({"lanes": 0})

    async def lane(self, request: web.Request) -> web.Response:
        return web.json_response(self.lanes.get(request.match_info["lane"]).describe())

    async def script(self, request: web.Request) -> web.Response:
        body = await _body(request)
        raw = body.get("replies")
        if not isinstance(raw, list):
            raise _bad("replies: a list of replies")
        try:
            replies = [Reply.parse(item, where=f"replies[{index}]") for index, item in enumerate(raw)]
        except ScriptError as exc:
            raise _bad(str(exc)) from None
        lane = self.lanes.get(request.match_info["lane"])
        if not body.get("append"):
            lane.replies.clear()
        lane.replies.extend(replies)
        return web.json_response(lane.describe())

    async def fail(self, request: web.Request) -> web.Response:
        body = await _body(request)
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
            raise _bad("count: a whole number from 0 to 10000")
        try:
            kind = parse_failure(body.get("kind", "500"))
        except ScriptError as exc:
            raise _bad(str(exc)) from None
        lane = self.lanes.get(request.match_info["lane"])
        lane.failures.extend([kind] * count)
        return web.json_response(lane.describe())

    async def settings(self, request: web.Request) -> web.Response:
        body = await _body(request)
        lane = self.lanes.get(request.match_info["lane"])
        try:
            lane.configure(body)
        except ScriptError as exc:
            raise _bad(str(exc)) from None
        return web.json_response(lane.describe())

    async def requests(self, request: web.Request) -> web.Response:
        lane = self.lanes.get(request.match_info["lane"])
        try:
            since = max(0, int(request.query.get("since", "0")))
        except ValueError:
            raise _bad("since: a whole number") from None
        return web.json_response({"items": list(lane.received)[since:], "total": len(lane.received)})

    async def reset(self, request: web.Request) -> web.Response:
        self.lanes.reset(request.match_info["lane"])
        return web.json_response({"lane": request.match_info["lane"], "reset": True})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _bad("body: not JSON") from None
    if not isinstance(body, dict):
        raise _bad("body: a JSON object")
    return body


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")
