"""Persisted queries (the Apollo protocol): a client sends ``extensions.persistedQuery.sha256Hash``
without the document; an unknown hash answers PERSISTED_QUERY_NOT_FOUND and the client sends it once
more with the document, which is then kept. Saves a slow mobile link the document on every request.

Every way a document reaches execution goes through ``PersistedQueries.resolve``: HTTP POST and GET
(the view) and the websocket's ``subscribe`` messages (queries, mutations and subscriptions alike).

The cache is in Redis (every API process shares it), one budget per workspace: only a caller with a
valid key adds to it, only a document that parses and validates against the schema is kept, and within
``max_documents`` documents and ``max_bytes`` bytes. A document over the budget still runs; it is just not
kept (the client then sends it again next time). Each entry leaves after ``ttl_seconds`` unused. In
allow-list mode only documents registered with ``crm allow-query`` run, by hash or by text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from strawberry.http import GraphQLRequestData

from domain.auth.principals import Principal
from domain.errors import ErrorCode
from domain.persisted_queries import PersistedQueryService, document_hash
from domain.redis_clients import RedisBreaker

log = logging.getLogger(__name__)

HASH = re.compile(r"[0-9a-f]{64}")

# Every script takes KEYS: the workspace's documents (hash -> text), their last use (sorted set), their
# total bytes; and reads Redis's clock, so that every API process agrees on it.

# ARGV: hash, size in bytes, ttl, max documents, max bytes. Drops the entries unused for ttl, then 1 if a
# document of this size would be kept (0 if it is already there or over the budget).
_ROOM = """
local documents, used, size = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(redis.call('TIME')[1])
for _, stale in ipairs(redis.call('ZRANGEBYSCORE', used, '-inf', now - tonumber(ARGV[3]))) do
  redis.call('DECRBY', size, redis.call('HSTRLEN', documents, stale))
  redis.call('HDEL', documents, stale)
  redis.call('ZREM', used, stale)
end
if redis.call('HEXISTS', documents, ARGV[1]) == 1 then
  return 0
end
return (redis.call('HLEN', documents) < tonumber(ARGV[4])
  and tonumber(redis.call('GET', size) or '0') + tonumber(ARGV[2]) <= tonumber(ARGV[5])) and 1 or 0
"""

# ARGV: hash, document, ttl, max documents, max bytes. Keeps it if the budget still has room (another
# process may have filled it since _ROOM answered).
_KEEP = """
local documents, used, size = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[3])
if redis.call('HEXISTS', documents, ARGV[1]) == 1 or redis.call('HLEN', documents) >= tonumber(ARGV[4])
    or tonumber(redis.call('GET', size) or '0') + #ARGV[2] > tonumber(ARGV[5]) then
  return 0
end
redis.call('HSET', documents, ARGV[1], ARGV[2])
redis.call('INCRBY', size, #ARGV[2])
redis.call('ZADD', used, tonumber(redis.call('TIME')[1]), ARGV[1])
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl) end
return 1
"""

# ARGV: hash, ttl. The document if it was used within ttl; a use keeps it (and the workspace's keys)
# another ttl.
_FIND = """
local now, ttl = tonumber(redis.call('TIME')[1]), tonumber(ARGV[2])
local last = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not last or tonumber(last) < now - ttl then
  return false
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl) end
return redis.call('HGET', KEYS[1], ARGV[1])
"""


@dataclass(frozen=True, slots=True)
class CacheBudget:
    """What one workspace may keep in the automatic persisted-query cache."""

    ttl_seconds: int
    max_documents: int
    max_bytes: int


class PersistedQueryError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PersistedQueries:
    def __init__(
        self,
        redis: Redis,
        allow_list: PersistedQueryService,
        mode: str,
        budget: CacheBudget,
        breaker: RedisBreaker,
        is_valid: Callable[[str], bool],
    ) -> None:
        self._redis = redis
        self._allow_list = allow_list
        self._mode = mode
        self._budget = budget
        self._breaker = breaker
        self._is_valid = is_valid
        self._keep_script = redis.register_script(_KEEP)
        self._find_script = redis.register_script(_FIND)
        self._room_script = redis.register_script(_ROOM)

    async def resolve(self, data: GraphQLRequestData, caller: Principal | None) -> GraphQLRequestData:
        """The request with its document in place; raises PersistedQueryError for the client to act on.
        ``caller`` is the request's valid key, if any: only such callers read and add to the cache."""
        if self._mode == "off":
            return data
        wanted = _hash_of(data.extensions)
        if self._mode == "allowlist":
            return await self._allowed(data, wanted)
        if wanted is None:
            return data
        if data.query is None:
            query = await self._cached(caller.workspace_id, wanted) if caller is not None else None
            if query is None:
                raise PersistedQueryError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
            return replace(data, query=query)
        if document_hash(data.query) != wanted:
            raise PersistedQueryError(ErrorCode.INVALID_INPUT, "the document does not have this sha256Hash")
        if caller is not None:
            await self._keep(caller.workspace_id, wanted, data.query)
        return data

    async def _allowed(self, data: GraphQLRequestData, wanted: str | None) -> GraphQLRequestData:
        key = wanted or (document_hash(data.query) if data.query is not None else None)
        query = await self._allow_list.allowed(key) if key else None
        if query is None or (data.query is not None and data.query != query):
            raise PersistedQueryError(ErrorCode.PERSISTED_QUERY_NOT_ALLOWED, "only registered documents run here")
        return replace(data, query=query)

    async def _cached(self, workspace_id: str, key: str) -> str | None:
        if not self._breaker.available:
            return None  # the client then sends the document, which runs without the cache
        try:
            found = await self._find_script(keys=_keys(workspace_id), args=[key, self._budget.ttl_seconds])
        except RedisError:
            self._breaker.failed()
            log.warning("persisted-query cache unavailable", exc_info=True)
            return None
        return found.decode() if isinstance(found, bytes) else found

    async def _keep(self, workspace_id: str, key: str, query: str) -> None:
        budget, keys, size = self._budget, _keys(workspace_id), len(query.encode())
        if not self._breaker.available or size > budget.max_bytes:
            return
        limits = [budget.ttl_seconds, budget.max_documents, budget.max_bytes]
        try:
            # Parsing and validating a document is work worth doing only if it would be kept.
            if await self._room_script(keys=keys, args=[key, size, *limits]) and self._is_valid(query):
                await self._keep_script(keys=keys, args=[key, query, *limits])
        except RedisError:
            self._breaker.failed()
            log.warning("persisted-query cache unavailable", exc_info=True)


def _hash_of(extensions: dict[str, Any] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(ErrorCode.INVALID_INPUT, "persistedQuery must be {version: 1, sha256Hash}")
    value = persisted.get("sha256Hash")
    if not isinstance(value, str) or not HASH.fullmatch(value):
        raise PersistedQueryError(ErrorCode.INVALID_INPUT, "sha256Hash must be 64 lowercase hex digits")
    return value


def _keys(workspace_id: str) -> list[str]:
    # One hash tag per workspace: its keys stay together on one Redis Cluster node, as scripts need.
    prefix = f"crm:pq:{{{workspace_id}}}"
    return [f"{prefix}:documents", f"{prefix}:used", f"{prefix}:bytes"]
