"""PostgreSQL advisory locks held by a worker's database session for the length of a piece of Twilio work.

Session locks, not transaction ones: the work they guard calls Twilio, which must not happen inside an open
transaction, and a worker that dies loses its session and so its locks, leaving the work to the next attempt.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def _key(name: str) -> int:
    """A stable signed 64-bit key for the name (PostgreSQL's bigint lock space)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def advisory_lock(name: str, *, wait: bool) -> Iterator[bool]:
    """Holds the lock named `name` for the block; yields whether it is held. With wait=False a lock another
    session holds is not waited for: the block runs with False, and the caller leaves the work to that session."""
    key = _key(name)
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
            held = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
