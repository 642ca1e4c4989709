"""Redis clients that ride out a Redis restart: commands retry on a fresh connection with backoff."""

from __future__ import annotations

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

RETRIES = 5
_RETRY_ON = [RedisConnectionError, RedisTimeoutError]


def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), RETRIES), retry_on_error=_RETRY_ON
    )


def async_client(url: str) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        url, retry=AsyncRetry(ExponentialBackoff(cap=2.0, base=0.1), RETRIES), retry_on_error=_RETRY_ON
    )
