"""Getting calls and messages to a worker: now, at their send_at, at a retry's time, or at their sender's slot.

Waits longer than a minute are kept in Redis sorted sets (score: due time) rather than as Celery ETAs:
a worker holds an ETA task unacknowledged, and the Redis broker hands a message that stays
unacknowledged longer than its visibility timeout to another worker. So no task waits in a worker for
longer than MAX_WORKER_WAIT_SECONDS, which keeps the visibility timeout short and brings the tasks of a
killed worker back within minutes. Beat moves due items to the queue.
"""

from collections import defaultdict
from datetime import datetime

from django.utils import timezone
from django_tenants.utils import schema_context

from config.redis_client import redis_client, text
from telephony import ratelimit
from telephony.models import Campaign, Communication
from telephony.statuses import Status

SCHEDULE_KEY = "switchboard:scheduled-communications"  # items with a send_at, still `scheduled`
RETRY_KEY = "switchboard:retrying-communications"  # items whose next attempt is far off
MAX_WORKER_WAIT_SECONDS = 60


def member_of(*, schema: str, communication_id: int) -> str:
    """How an item is named in Redis: schedules and senders' lines hold items of every tenant."""
    return f"{schema}:{communication_id}"


def parse_member(member: str) -> tuple[str, int]:
    schema, _, communication_id = member.rpartition(":")
    return schema, int(communication_id)


def hold_for_retry(*, schema: str, communication_id: int, in_seconds: float) -> None:
    """Keeps a far-off retry in Redis until beat queues it (see take_due)."""
    due = timezone.now().timestamp() + in_seconds
    redis_client().zadd(RETRY_KEY, {member_of(schema=schema, communication_id=communication_id): due})


def schedule(*, schema: str, communication: Communication) -> None:
    due = communication.send_at
    if due is None:
        raise ValueError(f"communication {communication.pk} has no send_at to be scheduled for")
    redis_client().zadd(SCHEDULE_KEY, {member_of(schema=schema, communication_id=communication.pk): due.timestamp()})


def _take_due(key: str, now: datetime, limit: int) -> list[tuple[str, int]]:
    """Removes and returns the due members; ZREM decides who takes one when several beats run."""
    client = redis_client()
    members = [text(member) for member in client.zrangebyscore(key, "-inf", now.timestamp(), start=0, num=limit)]
    return [parse_member(member) for member in members if client.zrem(key, member)]


def take_due(*, now: datetime, limit: int = 1000) -> dict[str, list[int]]:
    """The scheduled items and far-off retries that are due, per schema, taken out of Redis: the caller queues
    them. A scheduled item is moved from `scheduled` to `pending` here, so that it is counted as queued."""
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
    return dict(due)


def waiting_in_redis(*, schema: str, buckets: dict[int, str]) -> set[int]:
    """Which of these items (id -> its sender's bucket) Redis holds for later: scheduled, retrying, or in
    their sender's line."""
    communication_ids = list(buckets)
    pipe = redis_client().pipeline(transaction=False)
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
