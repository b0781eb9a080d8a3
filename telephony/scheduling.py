"""Getting calls and messages to a worker: now, at their send_at, at a retry's time, or at their sender's slot.

Waits longer than a minute are kept in Redis sorted sets (score: due time) rather than as Celery ETAs:
a worker holds an ETA task unacknowledged, and the Redis broker hands a message that stays
unacknowledged longer than its visibility timeout to another worker. So no task waits in a worker for
longer than MAX_WORKER_WAIT_SECONDS, which keeps the visibility timeout short and brings the tasks of a
killed worker back within minutes. Beat moves due items to the queue.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import cache

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from config.celery import app
from telephony import ratelimit
from telephony.models import Campaign, Communication
from telephony.statuses import Status

SCHEDULE_KEY = "switchboard:scheduled-communications"  # items with a send_at, still `scheduled`
RETRY_KEY = "switchboard:retrying-communications"  # items whose next attempt is far off
DELIVER_TASK = "telephony.tasks.deliver_communication"
DELIVER_GROUP_TASK = "telephony.tasks.deliver_communications"
HANG_UP_TASK = "telephony.tasks.hang_up_call"
MAX_WORKER_WAIT_SECONDS = 60
# Items queued together (a campaign, a sweep, scheduled items coming due) go this many to a task: Celery's
# cost per task and the read of the items and the account are paid once per group.
GROUP_SIZE = 50


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def member_of(*, schema: str, communication_id: int) -> str:
    """How an item is named in Redis: schedules and senders' lines hold items of every tenant."""
    return f"{schema}:{communication_id}"


def _parse_member(member: str) -> tuple[str, int]:
    schema, _, communication_id = member.rpartition(":")
    return schema, int(communication_id)


def _deliver(*, schema: str, communication_id: int, countdown: float = 0.0, slot_bucket: str | None = None) -> None:
    # send_task by name keeps this module free of the task module; the schema goes along as a header.
    kwargs: dict[str, object] = {"communication_id": communication_id}
    if slot_bucket is not None:
        kwargs["slot_bucket"] = slot_bucket
    app.send_task(DELIVER_TASK, kwargs=kwargs, countdown=countdown or None, headers={"_schema_name": schema})


def queue_now(*, communication_id: int) -> None:
    _deliver(schema=connection.schema_name, communication_id=communication_id)


def queue_group(*, communication_ids: Sequence[int], schema: str | None = None) -> None:
    """Queues many items of one tenant (the current one unless `schema` says), GROUP_SIZE to a task."""
    headers = {"_schema_name": schema or connection.schema_name}
    for start in range(0, len(communication_ids), GROUP_SIZE):
        group = list(communication_ids[start : start + GROUP_SIZE])
        app.send_task(DELIVER_GROUP_TASK, kwargs={"communication_ids": group}, headers=headers)


def queue_later(*, communication_id: int, in_seconds: float, slot_bucket: str | None = None) -> None:
    """Queues the item's next attempt; a slot's attempt (slot_bucket) is always within the rate window."""
    schema = connection.schema_name
    if slot_bucket is not None or in_seconds <= MAX_WORKER_WAIT_SECONDS:
        _deliver(schema=schema, communication_id=communication_id, countdown=in_seconds, slot_bucket=slot_bucket)
    else:
        due = timezone.now().timestamp() + in_seconds
        _redis().zadd(RETRY_KEY, {member_of(schema=schema, communication_id=communication_id): due})


def hang_up_now(*, communication_id: int) -> None:
    app.send_task(HANG_UP_TASK, kwargs={"communication_id": communication_id})


def schedule(*, schema: str, communication: Communication) -> None:
    due: datetime = communication.send_at
    _redis().zadd(SCHEDULE_KEY, {member_of(schema=schema, communication_id=communication.pk): due.timestamp()})


def _take_due(key: str, now: datetime, limit: int) -> list[tuple[str, int]]:
    """Removes and returns the due members; ZREM decides who takes one when several beats run."""
    client = _redis()
    return [
        _parse_member(member.decode())
        for member in client.zrangebyscore(key, "-inf", now.timestamp(), start=0, num=limit)
        if client.zrem(key, member)
    ]


def release_due(*, now: datetime, limit: int = 1000) -> int:
    """Queues every scheduled item and every far-off retry that is due."""
    due: defaultdict[str, list[int]] = defaultdict(list)
    for schema, communication_id in _take_due(SCHEDULE_KEY, now, limit):
        with schema_context(schema):
            if Communication.objects.filter(pk=communication_id, status=Status.SCHEDULED).update(status=Status.PENDING):
                Campaign.objects.filter(communications__pk=communication_id, status=Campaign.Status.SCHEDULED).update(
                    status=Campaign.Status.RUNNING
                )
                due[schema].append(communication_id)
    for schema, communication_id in _take_due(RETRY_KEY, now, limit):
        due[schema].append(communication_id)
    connection.set_schema_to_public()
    for schema, communication_ids in due.items():
        queue_group(schema=schema, communication_ids=communication_ids)
    return sum(map(len, due.values()))


def release_line(*, bucket: str) -> int:
    """Queues the head of a sender's line, each item to run at the slot it was given."""
    slots = ratelimit.pump(bucket=bucket)
    for slot in slots:
        schema, communication_id = _parse_member(slot.member)
        _deliver(schema=schema, communication_id=communication_id, countdown=slot.in_seconds, slot_bucket=bucket)
    return len(slots)


def release_lines() -> int:
    """Beat's safety net: each task that runs at its slot pumps its own sender, so this only matters when
    such a task was lost with its worker."""
    return sum(release_line(bucket=bucket) for bucket in ratelimit.buckets_with_lines())


def waiting_in_redis(*, schema: str, buckets: dict[int, str]) -> set[int]:
    """Which of these items (id -> its sender's bucket) Redis holds for later: scheduled, retrying, or in
    their sender's line."""
    communication_ids = list(buckets)
    pipe = _redis().pipeline(transaction=False)
    for communication_id in communication_ids:
        member = member_of(schema=schema, communication_id=communication_id)
        pipe.zscore(SCHEDULE_KEY, member)
        pipe.zscore(RETRY_KEY, member)
        pipe.zscore(ratelimit.line_key(buckets[communication_id]), member)
    scores = pipe.execute()
    return {
        communication_id
        for index, communication_id in enumerate(communication_ids)
        if any(score is not None for score in scores[index * 3 : index * 3 + 3])
    }
