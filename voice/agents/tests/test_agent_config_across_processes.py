"""A saved agent is what every other process's calls run within a second: a real second process, polling the
call path's lookup, on committed data and the real Redis."""

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from telephony.inbound.models import NumberSettings
from tenants.db import connection
from testsupport.processes import platform_environment
from testsupport.tenants import TenantSetup
from voice.agents import services
from voice.agents.models import Agent
from voice.agents.tests.support import agent_fields

NUMBER = "+14155550142"
VISIBLE_WITHIN_SECONDS = 1.0


class Watcher:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def next_seen(self, timeout: float) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the other process saw no change within {timeout} s") from None


@pytest.fixture
def watcher(alpha_committed: TenantSetup, tmp_path: Path) -> Iterator[Watcher]:
    process = subprocess.Popen(
        [sys.executable, "-m", "voice.agents.tests.config_watcher", alpha_committed.tenant.schema_name, NUMBER],
        cwd=settings.BASE_DIR,
        env=platform_environment(0, tmp_path),
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "watcher.log").open("w"),
        text=True,
    )
    try:
        yield Watcher(process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_saved_change_is_what_another_process_runs_within_a_second(
    alpha_committed: TenantSetup, watcher: Watcher
) -> None:
    with tenant_context(alpha_committed.tenant):
        agent = services.agent_create(fields=agent_fields(greeting="First greeting."), created_by="t")
        NumberSettings.objects.create(phone_number=NUMBER, agent=agent)
        seen = watcher.next_seen(timeout=30)  # it may have started before the agent was saved
        if seen["greeting"] != "First greeting.":
            assert seen["greeting"] == "Hello! How can I help you today?"
            assert watcher.next_seen(timeout=5)["greeting"] == "First greeting."

        delays = []
        for round_number in range(2, 5):
            saved_at = time.time()
            services.agent_update(agent=agent, fields={"greeting": f"Greeting {round_number}."}, created_by="t")
            seen = watcher.next_seen(timeout=5)
            assert (seen["greeting"], seen["version"]) == (f"Greeting {round_number}.", round_number)
            delays.append(seen["at"] - saved_at)

        NumberSettings.objects.filter(phone_number=NUMBER).update(agent=None)  # no signal: the number's row ...
        services.agent_update(agent=agent, fields={"name": "Renamed"}, created_by="t")  # ... then a saved change
        assert watcher.next_seen(timeout=5)["greeting"] == "Hello! How can I help you today?"  # platform default

    assert max(delays) <= VISIBLE_WITHIN_SECONDS, delays


def test_changes_saved_at_the_same_time_each_get_their_own_version(alpha_committed: TenantSetup) -> None:
    with tenant_context(alpha_committed.tenant):
        agent = services.agent_create(fields=agent_fields(), created_by="t")
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def save(writer: int) -> None:
        try:
            with tenant_context(alpha_committed.tenant):
                start.wait(timeout=10)
                services.agent_update(
                    agent=agent, fields={"greeting": f"From writer {writer}."}, created_by=f"w{writer}"
                )
        except BaseException as failure:  # reported below, in the test's own thread
            failures.append(failure)
        finally:
            connection.close()

    writers = [threading.Thread(target=save, args=(writer,)) for writer in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=30)

    assert failures == []
    with tenant_context(alpha_committed.tenant):
        saved = Agent.objects.get(pk=agent.pk)
        versions = list(saved.versions.order_by("number").values_list("number", "created_by", "config"))
    assert saved.version == 5 and [number for number, _, _ in versions] == [1, 2, 3, 4, 5]
    assert {by for _, by, _ in versions[1:]} == {"w0", "w1", "w2", "w3"}
    assert versions[-1][2]["greeting"] == saved.greeting  # the last version is the agent as it is
