"""A fixture that keeps the tasks the code under test queues, instead of sending them to the broker.

It stands in for Celery's own send_task, under tenant-schemas-celery's, so what it keeps is what the
broker would have got: the task's name, its arguments and the schema it is to run in.
Loaded from the root conftest (pytest_plugins).
"""

from dataclasses import dataclass
from typing import Any

import pytest
from celery import Celery


@dataclass(frozen=True)
class QueuedTask:
    name: str
    kwargs: dict[str, Any]
    schema: str | None
    countdown: float | None


@pytest.fixture
def queued_tasks(monkeypatch: pytest.MonkeyPatch) -> list[QueuedTask]:
    queued: list[QueuedTask] = []

    def keep(app: Celery, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        headers = options.get("headers") or {}
        queued.append(QueuedTask(name, dict(kwargs or {}), headers.get("_schema_name"), options.get("countdown")))

    monkeypatch.setattr(Celery, "send_task", keep)
    return queued
