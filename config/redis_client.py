"""The platform's Redis (REDIS_URL, not the broker's): one client per process, and what it answers as text."""

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def text(reply: object) -> str:
    """A key or member Redis sent back, as text. It answers bytes; redis-py types a reply as any of its shapes."""
    return reply.decode() if isinstance(reply, bytes) else str(reply)
