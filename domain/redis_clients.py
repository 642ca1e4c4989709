"""Redis clients that ride out a Redis restart: commands retry on a fresh connection with backoff."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

RETRIES = 5
# After Redis fails, calls that only speed things up skip it this long (see RedisBreaker).
BREAKER_SECONDS = 10.0
_RETRY_ON = [RedisConnectionError, RedisTimeoutError]


# The API answers requests: a call to a Redis that is down gives up quickly (its uses fail open or are
# done later by the sweeper) instead of retrying for seconds like a worker does.
API_RETRIES = 1


def sync_client(url: str, retries: int = RETRIES) -> redis.Redis:
    return redis.Redis.from_url(
        url, retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), retries), retry_on_error=_RETRY_ON
    )


def async_client(url: str, retries: int = RETRIES) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        url, retry=AsyncRetry(ExponentialBackoff(cap=2.0, base=0.1), retries), retry_on_error=_RETRY_ON
    )


class RedisBreaker:
    """After a Redis failure, skip Redis for a few seconds where it only speeds things up: queueing a
    rescore (MongoDB's dirty flag already guarantees it; the sweeper queues it) or a rate-limit check
    (which fails open). Without it every write during an outage would wait out the client's retries
    retries; with it only the first does. One per process, shared by everything that uses Redis so."""

    def __init__(self, seconds: float = BREAKER_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._skip_until = 0.0

    @property
    def available(self) -> bool:
        return self._clock() >= self._skip_until

    def failed(self) -> None:
        self._skip_until = self._clock() + self._seconds
