"""Senders' schedules and lines in Redis (telephony.ratelimit), and far-off retries (telephony.scheduling)."""

import time
from datetime import timedelta
from typing import NamedTuple
from uuid import uuid4

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony import scheduling, tasks
from telephony.ratelimit import WINDOW_SECONDS, buckets_with_lines, pump, take_slot, waiting_members
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.wait import wait_until


def fresh_bucket() -> str:
    return f"test:{uuid4().hex}"


def test_a_busy_sender_puts_items_in_its_line_first_come_first_served() -> None:
    bucket = fresh_bucket()

    first = take_slot(bucket=bucket, per_second=0.25, member="t_x:1")
    second = take_slot(bucket=bucket, per_second=0.25, member="t_x:2")
    third = take_slot(bucket=bucket, per_second=0.25, member="t_x:3")
    second_again = take_slot(bucket=bucket, per_second=0.25, member="t_x:2")  # a duplicate task

    assert first == 0.0
    assert second is None and third is None and second_again is None
    assert waiting_members(bucket=bucket) == ["t_x:2", "t_x:3"]
    assert bucket in buckets_with_lines()
    # The sender's next slot is 4 s away, beyond the window: nothing to hand out yet.
    assert pump(bucket=bucket) == []
    assert waiting_members(bucket=bucket) == ["t_x:2", "t_x:3"]


class Moment(NamedTuple):
    """When something happened in Redis, known to lie between two local clock readings around the call."""

    earliest: float
    latest: float

    def later_by(self, seconds: float) -> "Moment":
        return Moment(self.earliest + seconds, self.latest + seconds)


def assert_apart(earlier: Moment, later: Moment, seconds: float) -> None:
    """The two moments can be `seconds` apart (to a millisecond), however long each call took to reach Redis."""
    assert later.earliest - earlier.latest - 0.001 <= seconds <= later.latest - earlier.earliest + 0.001, (
        earlier,
        later,
    )


def test_slots_are_handed_out_a_window_ahead_one_interval_apart_in_line_order() -> None:
    bucket, per_second = fresh_bucket(), 50.0
    members = [f"t_x:{n}" for n in range(200)]

    slots: list[Moment] = []
    for member in members:
        asked_at = time.monotonic()
        wait = take_slot(bucket=bucket, per_second=per_second, member=member)
        if wait is not None:
            slots.append(Moment(asked_at, time.monotonic()).later_by(wait))
    in_line = waiting_members(bucket=bucket)

    # The first ones got the window's slots; the rest wait in line, in the order they came.
    assert len(slots) == pytest.approx(WINDOW_SECONDS * per_second, abs=5)
    assert in_line == members[len(slots) :]
    for earlier, later in zip(slots, slots[1:], strict=False):
        assert_apart(earlier, later, 1 / per_second)

    time.sleep(0.5)
    pumped_at = time.monotonic()
    handed = pump(bucket=bucket)
    pumped = Moment(pumped_at, time.monotonic())

    # Half a second later, about half a second's worth of slots is free: they go to the head of the line and
    # continue the sender's schedule where the earlier slots ended.
    assert [slot.member for slot in handed] == in_line[: len(handed)]
    assert len(handed) == pytest.approx(0.5 * per_second, abs=8)
    assert_apart(slots[-1], pumped.later_by(handed[0].in_seconds), 1 / per_second)
    assert all(
        later.in_seconds - earlier.in_seconds == pytest.approx(1 / per_second, abs=0.001)
        for earlier, later in zip(handed, handed[1:], strict=False)
    )


def test_a_drained_line_is_forgotten() -> None:
    bucket = fresh_bucket()
    take_slot(bucket=bucket, per_second=20.0, member="t_x:1")
    for n in range(2, 60):
        take_slot(bucket=bucket, per_second=20.0, member=f"t_x:{n}")
    assert bucket in buckets_with_lines()

    handed: list[str] = []

    def drained() -> bool:
        handed.extend(slot.member for slot in pump(bucket=bucket))
        return not waiting_members(bucket=bucket)

    wait_until(drained, interval=0.2, message="the line to drain")
    handed += [slot.member for slot in pump(bucket=bucket)]

    assert handed[-1] == "t_x:59" and len(handed) == len(set(handed))
    assert bucket not in buckets_with_lines()


def test_a_far_off_retry_waits_in_redis_not_in_a_worker(alpha: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    member = scheduling.member_of(schema=alpha.tenant.schema_name, communication_id=987654)
    far_off = scheduling.MAX_WORKER_WAIT_SECONDS * 5
    with tenant_context(alpha.tenant):
        tasks.queue_later(communication_id=987654, in_seconds=far_off)
    queued_at_once = list(queued_tasks)

    due = client.zscore(scheduling.RETRY_KEY, member)
    released_early = tasks.release_scheduled_communications()
    still_there = client.zscore(scheduling.RETRY_KEY, member) is not None
    taken_when_due = scheduling.take_due(now=timezone.now() + timedelta(seconds=far_off + 1))

    assert queued_at_once == [] and due == pytest.approx(time.time() + far_off, abs=5)
    assert released_early == 0 and still_there
    assert (
        taken_when_due == {alpha.tenant.schema_name: [987654]} and client.zscore(scheduling.RETRY_KEY, member) is None
    )


def test_beat_queues_a_due_retry_in_its_tenants_schema(alpha: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    scheduling.hold_for_retry(schema=alpha.tenant.schema_name, communication_id=987655, in_seconds=-1)

    released = tasks.release_scheduled_communications()  # as beat runs it: in the public schema

    assert released == 1
    assert queued_tasks == [
        QueuedTask(
            "telephony.tasks.deliver_communications",
            {"communication_ids": [987655]},
            schema=alpha.tenant.schema_name,
            countdown=None,
        )
    ]
