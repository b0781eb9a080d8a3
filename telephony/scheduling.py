"""Getting calls and messages to a worker: now, or at their send_at.

Scheduled items wait in one Redis sorted set (score: due time) rather than as far-future Celery ETAs,
which Redis brokers redeliver once their visibility timeout passes. Beat moves due items to the queue.
"""

from datetime import datetime
from functools import cache

import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from config.celery import app
from telephony.models import Campaign, Communication
from telephony.statuses import Status

SCHEDULE_KEY = "switchboard:scheduled-communications"
DELIVER_TASK = "telephony.tasks.deliver_communication"
HANG_UP_TASK = "telephony.tasks.hang_up_call"


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def queue_now(*, communication_id: int) -> None:
    # send_task by name keeps this module free of the task module; the schema goes along as a header.
    app.send_task(DELIVER_TASK, kwargs={"communication_id": communication_id})


def hang_up_now(*, communication_id: int) -> None:
    app.send_task(HANG_UP_TASK, kwargs={"communication_id": communication_id})


def schedule(*, schema: str, communication: Communication) -> None:
    due: datetime = communication.send_at
    _redis().zadd(SCHEDULE_KEY, {f"{schema}:{communication.pk}": due.timestamp()})


def release_due(*, now: datetime, limit: int = 1000) -> int:
    """Queues every scheduled item that is due. Safe to run from several beats: ZREM decides who queues."""
    client = _redis()
    released = 0
    for member in client.zrangebyscore(SCHEDULE_KEY, "-inf", now.timestamp(), start=0, num=limit):
        if not client.zrem(SCHEDULE_KEY, member):
            continue  # another process took it
        schema, _, communication_id = member.decode().rpartition(":")
        with schema_context(schema):
            if Communication.objects.filter(pk=communication_id, status=Status.SCHEDULED).update(status=Status.PENDING):
                Campaign.objects.filter(communications__pk=communication_id, status=Campaign.Status.SCHEDULED).update(
                    status=Campaign.Status.RUNNING
                )
                queue_now(communication_id=int(communication_id))
                released += 1
    connection.set_schema_to_public()
    return released
