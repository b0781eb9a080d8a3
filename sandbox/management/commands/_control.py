"""What sandbox_call and sandbox_sms share: finding the running sandbox and POSTing to its control API."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from sandbox.control import ControlError, control_call

TIMEOUT = 600.0  # a simulated call waits for every webhook of the call


def add_sandbox_url(parser: CommandParser) -> None:
    parser.add_argument(
        "--sandbox-url",
        default=None,
        help="the running sandbox (default: $SANDBOX_URL, else settings.TWILIO_SANDBOX_URL)",
    )
    parser.add_argument("--json", action="store_true", help="print the control API's JSON answer as is")


def sandbox_url(option: str | None) -> str:
    url = option or os.environ.get("SANDBOX_URL") or getattr(settings, "TWILIO_SANDBOX_URL", "")
    if not url:
        raise CommandError("no sandbox URL: pass --sandbox-url or set SANDBOX_URL")
    return str(url).rstrip("/")


def post(base_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return control_call(base_url + path, body=body, timeout=TIMEOUT, double="sandbox")
    except ControlError as error:
        raise CommandError(str(error)) from None


def requests_lines(requests: list[dict[str, Any]]) -> list[str]:
    lines = []
    for request in requests:
        status = request.get("status") or "---"
        error = f"  ({request['error']})" if request.get("error") else ""
        lines.append(f"  {status} {request['method']:<4} {request['url']}  [{request['kind']}]{error}")
    return lines
