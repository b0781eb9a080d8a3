"""What the doubles' command-line and Python clients share: a JSON call to a double's control API, and a server
process that runs until it is told to stop."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
from typing import Any


class ControlError(RuntimeError):
    """A double's control API refused the call, or could not be reached; the message says which, for a person."""


def control_call(
    url: str, *, method: str = "POST", body: dict[str, Any] | None = None, timeout: float, double: str
) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("error", "")
        except ValueError:
            detail = ""
        raise ControlError(f"the {double} answered {exc.code}: {detail or exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ControlError(f"cannot reach the {double} at {url}: {exc}") from None


class StopSignal:
    """SIGTERM or Ctrl-C, listened for from the moment it is made: a double's `python -m` entry point makes it
    before the server starts, since whoever reads the "listening" line may stop it at once."""

    def __init__(self) -> None:
        self._done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: self._done.set())

    def wait(self) -> None:
        try:
            self._done.wait()
        except KeyboardInterrupt:
            pass
