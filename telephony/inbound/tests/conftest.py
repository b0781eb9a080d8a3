from collections.abc import Iterator

import pytest

from config.redis_client import redis_client
from telephony.inbound import fallback


@pytest.fixture(autouse=True)
def _no_kept_webhooks() -> Iterator[None]:
    """Webhooks kept while the platform could not answer (fallback.spool) are this test's only."""
    redis_client().delete(fallback.SPOOL_KEY)
    yield
    redis_client().delete(fallback.SPOOL_KEY)
