"""Per-tenant API rate limit: a fixed one-minute window counted in Redis, shared by every web process."""

import time
from typing import TYPE_CHECKING

from rest_framework.throttling import BaseThrottle

from config.redis_client import redis_client
from tenants.db import current_tenant

if TYPE_CHECKING:  # importing these at run time is circular: DRF loads this module from its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

WINDOW_SECONDS = 60


def rate_limit_key(schema_name: str, window: int) -> str:
    return f"switchboard:ratelimit:api:{schema_name}:{window}"


class TenantRateThrottle(BaseThrottle):
    def allow_request(self, request: "Request", view: "APIView") -> bool:
        tenant = current_tenant()
        limit = tenant.api_rate_limit_per_minute
        if limit == 0:
            return True  # 0 means unlimited
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = rate_limit_key(tenant.schema_name, window)
        pipeline = redis_client().pipeline()
        pipeline.incr(key)
        pipeline.expire(key, WINDOW_SECONDS * 2)
        count, _ = pipeline.execute()
        self._retry_after = (window + 1) * WINDOW_SECONDS - now
        return count <= limit

    def wait(self) -> float:
        return self._retry_after
