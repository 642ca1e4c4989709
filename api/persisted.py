"""Persisted queries (the Apollo protocol): a client sends ``extensions.persistedQuery.sha256Hash``
without the document; an unknown hash answers PERSISTED_QUERY_NOT_FOUND and the client sends it once
more with the document, which is then kept. Saves a slow mobile link the document on every request.

The cache is in Redis (every API process shares it), each entry expiring after
``PERSISTED_QUERY_TTL_SECONDS`` without use and at most the body limit in size, so it stays bounded. In
allow-list mode only documents registered with ``crm allow-query`` run, by hash or by text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from strawberry.http import GraphQLRequestData

from domain.errors import ErrorCode
from domain.persisted_queries import PersistedQueryService, document_hash
from domain.redis_clients import RedisBreaker

log = logging.getLogger(__name__)

HASH = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PersistedQueries:
    def __init__(
        self, redis: Redis, allow_list: PersistedQueryService, mode: str, ttl_seconds: int, breaker: RedisBreaker
    ) -> None:
        self._redis = redis
        self._allow_list = allow_list
        self._mode = mode
        self._ttl = ttl_seconds
        self._breaker = breaker

    async def resolve(self, data: GraphQLRequestData) -> GraphQLRequestData:
        """The request with its document in place; raises PersistedQueryError for the client to act on."""
        if self._mode == "off":
            return data
        wanted = _hash_of(data.extensions)
        if self._mode == "allowlist":
            return await self._allowed(data, wanted)
        if wanted is None:
            return data
        if data.query is None:
            query = await self._cached(wanted)
            if query is None:
                raise PersistedQueryError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
            return replace(data, query=query)
        if document_hash(data.query) != wanted:
            raise PersistedQueryError(ErrorCode.INVALID_INPUT, "the document does not have this sha256Hash")
        await self._keep(wanted, data.query)
        return data

    async def _allowed(self, data: GraphQLRequestData, wanted: str | None) -> GraphQLRequestData:
        key = wanted or (document_hash(data.query) if data.query is not None else None)
        query = await self._allow_list.allowed(key) if key else None
        if query is None or (data.query is not None and data.query != query):
            raise PersistedQueryError(ErrorCode.PERSISTED_QUERY_NOT_ALLOWED, "only registered documents run here")
        return replace(data, query=query)

    async def _cached(self, key: str) -> str | None:
        if not self._breaker.available:
            return None  # the client then sends the document, which runs without the cache
        try:
            found = await self._redis.getex(_key(key), ex=self._ttl)
        except RedisError:
            self._breaker.failed()
            log.warning("persisted-query cache unavailable", exc_info=True)
            return None
        return found.decode() if isinstance(found, bytes) else found

    async def _keep(self, key: str, query: str) -> None:
        if not self._breaker.available:
            return
        try:
            await self._redis.set(_key(key), query, ex=self._ttl)
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


def _key(key: str) -> str:
    return f"crm:pq:{key}"
