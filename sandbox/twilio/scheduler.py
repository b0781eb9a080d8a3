"""The sandbox's clock: one thread running timed steps in due order, so request threads never wait on time."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("sandbox.twilio.scheduler")


class Scheduler:
    """One thread running timed callables in due order. Callables must be quick and must not block."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._condition = threading.Condition()
        self._counter = itertools.count()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sandbox-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()
        if self._thread:
            self._thread.join(2.0)

    def call_later(self, delay: float, function: Callable[..., None], *args: Any) -> None:
        due = time.monotonic() + max(delay, 0.0)
        with self._condition:
            heapq.heappush(self._heap, (due, next(self._counter), function, args))
            if self._heap[0][0] == due:  # new earliest event: wake the thread to re-plan its sleep
                self._condition.notify()

    def clear(self) -> None:
        with self._condition:
            self._heap.clear()

    def pending(self) -> int:
        with self._condition:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped:
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._condition.wait(wait)
                    else:
                        self._condition.wait()
                if self._stopped:
                    return
                _, _, function, args = heapq.heappop(self._heap)
            try:
                function(*args)
            except Exception:  # one broken step must not stop every other lifecycle
                logger.exception("scheduled step failed")
