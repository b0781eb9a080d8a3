"""Sending rate per sender, shared by every worker, kept in Redis.

Twilio queues what a number sends beyond its rate and eventually fails it, so we hold the excess
ourselves. Each sender (a bucket) has a schedule, the earliest time its next send may go (GCRA with a
burst of one), and a line of items waiting for it. An item that finds the sender free within a short
window gets the next slot at once; otherwise it joins the line and its task ends. Slots are handed out
to the head of the line only a window ahead, by `pump`: each task that runs at its slot pumps its
sender, and beat pumps every line as a safety net. So a campaign of thousands of messages from one
number waits in Redis rather than as thousands of tasks polling for a token, and a canceled campaign
leaves at most a window of slots behind.

Everything that decides is one Lua script on Redis's own clock, so workers' clocks cannot disagree and
no two items ever get the same slot.
"""

from dataclasses import dataclass
from functools import cache

import redis

from config.redis_client import redis_client, text
from telephony.models import SenderNumber

# Messages per second Twilio allows each kind of sender.
DEFAULT_RATES: dict[str, float] = {
    SenderNumber.Kind.LONG_CODE: 1.0,
    SenderNumber.Kind.VERIFIED_CALLER_ID: 1.0,
    SenderNumber.Kind.TOLL_FREE: 3.0,
    SenderNumber.Kind.SHORT_CODE: 30.0,
}
# How far ahead slots are given out: long enough that a line keeps its sender busy between pumps,
# short enough that slots nobody uses (a canceled item) cost little.
WINDOW_SECONDS = 2.0
# Pumping one line hands out at most this many slots (a short code's window is 60).
PUMP_LIMIT = 500

_PREFIX = "switchboard:send:"
LINES_KEY = f"{_PREFIX}lines"  # set of buckets with a line
INTERVALS_KEY = f"{_PREFIX}intervals"  # bucket -> its interval in ms, for whoever pumps it

# KEYS: schedule, line, lines, intervals. ARGV: interval ms, window ms, member, bucket.
# Returns the ms until the member's slot (0: send now), or -1 when it joined the line.
_TAKE_SLOT = """
local interval, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if redis.call('ZCARD', KEYS[2]) == 0 then
  local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
  if slot - now < window then
    redis.call('SET', KEYS[1], slot + interval, 'PX', slot + interval - now + 60000)
    return slot - now
  end
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[3])
redis.call('HSET', KEYS[4], ARGV[4], interval)
redis.call('SADD', KEYS[3], ARGV[4])
return -1
"""

# KEYS: schedule, line, lines, intervals. ARGV: window ms, limit, bucket.
# Pops the head of the line into the free slots of the coming window: [member, ms until its slot, ...].
_PUMP = """
local interval = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0')
if interval <= 0 then
  redis.call('SREM', KEYS[3], ARGV[3])
  return {}
end
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local handed = {}
while slot - now < window and #handed < limit * 2 do
  local head = redis.call('ZPOPMIN', KEYS[2])
  if #head == 0 then break end
  handed[#handed + 1] = head[1]
  handed[#handed + 1] = slot - now
  slot = slot + interval
end
if #handed > 0 then
  redis.call('SET', KEYS[1], slot, 'PX', slot - now + 60000)
end
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[3])
  redis.call('HDEL', KEYS[4], ARGV[3])
end
return handed
"""


@dataclass(frozen=True)
class Slot:
    """A member of a line and the seconds until it may send."""

    member: str
    in_seconds: float


@cache
def _take_script() -> redis.commands.core.Script:
    return redis_client().register_script(_TAKE_SLOT)


@cache
def _pump_script() -> redis.commands.core.Script:
    return redis_client().register_script(_PUMP)


def _keys(bucket: str) -> list[str]:
    return [f"{_PREFIX}{bucket}:next", line_key(bucket), LINES_KEY, INTERVALS_KEY]


def line_key(bucket: str) -> str:
    return f"{_PREFIX}{bucket}:line"


def take_slot(*, bucket: str, per_second: float, member: str) -> float | None:
    """Seconds until the member's slot (0.0: send now), or None: it joined the sender's line and will
    be handed a slot by `pump`."""
    interval_ms = max(1, round(1000 / per_second))
    wait_ms = int(_take_script()(keys=_keys(bucket), args=[interval_ms, round(WINDOW_SECONDS * 1000), member, bucket]))
    return None if wait_ms < 0 else wait_ms / 1000


def pump(*, bucket: str) -> list[Slot]:
    """Hands the head of the bucket's line the sender's free slots in the coming window."""
    handed = _pump_script()(keys=_keys(bucket), args=[round(WINDOW_SECONDS * 1000), PUMP_LIMIT, bucket])
    return [
        Slot(member=text(member), in_seconds=int(ms) / 1000)
        for member, ms in zip(handed[::2], handed[1::2], strict=True)
    ]


def buckets_with_lines() -> list[str]:
    return sorted(text(bucket) for bucket in redis_client().smembers(LINES_KEY))


def waiting_members(*, bucket: str) -> list[str]:
    return [text(member) for member in redis_client().zrange(line_key(bucket), 0, -1)]
