"""API keys: random tokens shown once, stored only as a SHA-256 hash, each bound to one workspace."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.errors import DuplicateKeyError

from domain.auth.principals import Principal, Role
from domain.db import Database, new_id
from domain.errors import Unauthenticated

TOKEN_PREFIX = "crm_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # The tokens carry 256 random bits, so a fast unsalted hash is enough to make a leaked table useless.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    token: str
    principal: Principal


class ApiKeyRepository:
    def __init__(self, db: Database) -> None:
        self._keys = db.api_keys

    async def insert(self, workspace_id: str, user_id: str, role: Role, name: str, token: str) -> str:
        key_id = new_id()
        document = {
            "_id": key_id,
            "workspace_id": workspace_id,
            "user_id": user_id,
            "role": role.value,
            "name": name,
            "token_hash": hash_token(token),
            "created_at": datetime.now(UTC),
            "revoked_at": None,
        }
        try:
            await self._keys.insert_one(document)
        except DuplicateKeyError:
            existing = await self._keys.find_one({"token_hash": hash_token(token)})
            if existing is None or existing["workspace_id"] != workspace_id:
                raise
            return str(existing["_id"])
        return key_id

    async def find_active_by_token(self, token: str) -> Principal | None:
        document = await self._keys.find_one({"token_hash": hash_token(token), "revoked_at": None})
        if document is None:
            return None
        return Principal(
            workspace_id=document["workspace_id"],
            user_id=document["user_id"],
            role=Role(document["role"]),
            key_id=str(document["_id"]),
        )


class ApiKeyService:
    def __init__(self, keys: ApiKeyRepository) -> None:
        self._keys = keys

    async def issue(
        self, workspace_id: str, user_id: str, role: Role, name: str, token: str | None = None
    ) -> IssuedKey:
        """Create a key; a given ``token`` (the demo key) is idempotent: issuing it again is a no-op."""
        token = token or new_token()
        key_id = await self._keys.insert(workspace_id, user_id, role, name, token)
        return IssuedKey(key_id, token, Principal(workspace_id, user_id, role, key_id))

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization: Bearer <key>`` value, or UNAUTHENTICATED."""
        token = parse_bearer(authorization)
        principal = await self._keys.find_active_by_token(token) if token else None
        if principal is None:
            raise Unauthenticated("a valid API key is required: send 'Authorization: Bearer <key>'")
        return principal


def parse_bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
