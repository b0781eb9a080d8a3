"""Sending rate per sender, shared by every worker: a token bucket kept in Redis.

Twilio queues what a number sends beyond its rate and eventually fails it, so we hold the excess in
our own queue instead. The bucket lives in Redis and is updated by one Lua script, so any number of
workers together never take more than the rate.
"""

from functools import cache

import redis
from django.conf import settings

from telephony.models import SenderNumber

# Messages per second Twilio allows each kind of sender.
DEFAULT_RATES = {
    SenderNumber.Kind.LONG_CODE: 1.0,
    SenderNumber.Kind.VERIFIED_CALLER_ID: 1.0,
    SenderNumber.Kind.TOLL_FREE: 3.0,
    SenderNumber.Kind.SHORT_CODE: 30.0,
}

# KEYS[1]: bucket. ARGV: rate per second, capacity. Returns 0 when a token was taken, else the
# milliseconds until one will be there. Redis's own clock is used, so workers' clocks cannot disagree.
_TAKE_TOKEN = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 60000)
return wait
"""


@cache
def _script() -> redis.commands.core.Script:
    return redis.Redis.from_url(settings.REDIS_URL).register_script(_TAKE_TOKEN)


def take_token(*, bucket: str, per_second: float, capacity: float = 1.0) -> float:
    """0.0 when the caller may send now; otherwise the seconds to wait before asking again."""
    wait_ms = _script()(keys=[f"switchboard:ratelimit:send:{bucket}"], args=[per_second, capacity])
    return int(wait_ms) / 1000
