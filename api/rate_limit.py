"""Per-key rate limiting by query cost: a leaky bucket kept in Redis, shared by every API process."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.redis_clients import RedisBreaker

log = logging.getLogger(__name__)

# Level drains at ``rate`` units a second; a request fits if level + cost <= capacity. Redis's own
# clock is used so that several API processes agree.
_LEAKY_BUCKET = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or '0')
local ts = tonumber(redis.call('HGET', KEYS[1], 'ts') or tostring(now))
level = math.max(0, level - (now - ts) * rate)
if level + cost > capacity then
  return {0, tostring((level + cost - capacity) / rate)}
end
redis.call('HSET', KEYS[1], 'level', tostring(level + cost), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {1, '0'}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_seconds: float = 0.0


class RateLimiter:
    def __init__(self, redis: Redis, capacity: int, per_second: float, breaker: RedisBreaker | None = None) -> None:
        self._script = redis.register_script(_LEAKY_BUCKET)
        self.capacity = capacity
        self.per_second = per_second
        self.breaker = breaker or RedisBreaker()

    async def take(self, key_id: str, cost: int) -> Decision:
        if not self.breaker.available:
            return Decision(True)  # Redis failed moments ago: fail open at once, not after its retries
        try:
            allowed, retry_after = await self._script(
                keys=[f"crm:ratelimit:{key_id}"], args=[self.capacity, self.per_second, cost]
            )
        except RedisError:
            # Failing open keeps the API answering while Redis is away; the cost cap still applies.
            log.warning("rate limiter unavailable; request allowed", exc_info=True)
            self.breaker.failed()
            return Decision(True)
        return Decision(bool(int(allowed)), float(retry_after))
