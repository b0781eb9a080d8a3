"""The one way a test waits for something to happen elsewhere (a worker, the sandbox, a web server)."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
TIMEOUT = 10.0  # generous: the suite runs on a loaded 2-core machine


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float = TIMEOUT,
    interval: float = 0.02,
    message: str = "",
    details: Callable[[], str] | None = None,
    gave_up: Callable[[], bool] | None = None,
) -> T:
    """Polls until condition() is truthy and returns its value; fails the test at the deadline.

    `details` adds to the failure what helps to read it (a worker's log); `gave_up` ends the wait early
    when waiting longer cannot help (the process that should answer has died).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline or (gave_up is not None and gave_up()):
            failure = f"gave up after {timeout}s waiting for {message or condition}"
            raise AssertionError(failure + (f"\n{details()}" if details else ""))
        time.sleep(interval)
