"""What a process may keep of a tenant's rarely changing rows, and how every process learns that they changed.

Webhooks read the same few rows for every request: the tenant of a host name, its Twilio token, its
primary domain, a number's settings and call flows, its time zone. A process keeps what it read in its own
memory (the "process" cache), filed under the tenant's *generation*: a counter in Redis that every save or
delete of those rows moves, once its transaction has committed (see `tenant_changed`). Each request reads
the generation of the tenant it serves once (one Redis GET), so a change shows at the next request in every
process; in the process that made it, at once, even before it commits.

When Redis cannot be reached, nothing is kept or served from what was kept: reads go to the database, as
without any cache (and Redis is tried again after REDIS_RETRY_SECONDS). A change that could not move the
generation (Redis unreachable from the process that made it), or that bypasses model signals
(QuerySet.update), shows everywhere within KEEP_SECONDS at the latest; so does one committed in the instant
between a host name's lookup and the reading of its tenant's generation (the tenant is known only once looked up).
"""

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TypeVar

import redis
import structlog
from django.conf import settings
from django.core.cache import caches
from django.db import transaction

logger = structlog.get_logger(__name__)

T = TypeVar("T")

KEEP_SECONDS = 300
REDIS_TIMEOUT_SECONDS = 0.25
REDIS_RETRY_SECONDS = 5.0
GENERATION_KEY = "switchboard:tenant-generation:{schema}"

_local_changes = itertools.count(1)
_local: dict[str, int] = {}  # schema -> this process's stamp of its last change (moves at once, commit or not)
_redis_down_until = 0.0
# The generations read during the current request (set up by tenants.middleware.CachedTenantMainMiddleware):
# one Redis GET per tenant per request. Outside a request, every call reads Redis.
_request_generations: ContextVar[dict[str, str] | None] = ContextVar("tenant_generations", default=None)


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )


@contextmanager
def request_scope() -> Iterator[None]:
    """Within it, each tenant's generation is read from Redis once."""
    token = _request_generations.set({})
    try:
        yield
    finally:
        _request_generations.reset(token)


def generation(schema: str) -> str | None:
    """The tenant's current generation (with this process's own changes), or None when Redis cannot tell."""
    global _redis_down_until
    seen = _request_generations.get()
    if seen is not None and schema in seen:
        return seen[schema]
    if time.monotonic() < _redis_down_until:
        return None
    try:
        value = _redis().get(GENERATION_KEY.format(schema=schema))
    except redis.RedisError:
        _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        logger.warning("tenant_generation_unavailable", retry_seconds=REDIS_RETRY_SECONDS)
        return None
    found = f"{value.decode() if isinstance(value, bytes) else 0}.{_local.get(schema, 0)}"
    if seen is not None:
        seen[schema] = found
    return found


def kept(schema: str, what: str, read: Callable[[], T]) -> T:
    """`read()`, or what this process kept of it since the tenant last changed (each caller gets its own copy)."""
    current = generation(schema)  # before reading: a change committed after this moves it again
    if current is None:
        return read()
    key = f"kept:{schema}:{current}:{what}"
    found = caches["process"].get(key)
    if found is None:
        found = (read(),)
        caches["process"].set(key, found, KEEP_SECONDS)
    return found[0]


def still_current(schema: str, read_under: str | None) -> bool:
    """Whether something read under generation `read_under` of the tenant may still be used."""
    return read_under is not None and generation(schema) == read_under


def tenant_changed(schema: str) -> None:
    """Rows of the tenant that processes may keep have changed: forgotten at once in this process, and in every
    process once the current transaction commits."""
    _local[schema] = next(_local_changes)
    seen = _request_generations.get()
    if seen is not None:
        seen.pop(schema, None)

    def move() -> None:
        try:
            _redis().incr(GENERATION_KEY.format(schema=schema))
        except redis.RedisError:
            logger.warning("tenant_generation_not_moved", schema=schema, within_seconds=KEEP_SECONDS)

    transaction.on_commit(move)
