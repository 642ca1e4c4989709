"""API keys: random tokens shown once, stored only as a SHA-256 hash, each bound to one workspace."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo.errors import DuplicateKeyError

from domain.auth.principals import Permission, Principal, Role
from domain.clock import Clock
from domain.db import Database, new_id
from domain.errors import Conflict, ErrorCode, InvalidInput, NotFound, Unauthenticated
from domain.ports import KeyRevocationNotifier
from domain.timestamps import aware

if TYPE_CHECKING:
    from domain.workspaces.repository import WorkspaceRepository

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


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key as admins see it: never the secret, only its last four characters."""

    id: str
    name: str
    role: Role
    user_id: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_document(cls, d: dict[str, Any]) -> ApiKeyInfo:
        return cls(
            id=d["_id"],
            name=d["name"],
            role=Role(d["role"]),
            user_id=d["user_id"],
            hint=d.get("hint", ""),
            created_at=aware(d["created_at"]),
            revoked_at=aware(d["revoked_at"]) if d.get("revoked_at") else None,
        )


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created or rotated: how admins see it, and its secret, shown this once."""

    info: ApiKeyInfo
    token: str


class ApiKeyRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._keys = db.api_keys
        self._clock = clock

    async def insert(self, workspace_id: str, user_id: str, role: Role, name: str, token: str) -> str:
        key_id = new_id()
        document = {
            "_id": key_id,
            "workspace_id": workspace_id,
            "user_id": user_id,
            "role": role.value,
            "name": name,
            "token_hash": hash_token(token),
            "hint": token[-4:],
            "created_at": self._clock.now(),
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

    async def list(self, workspace_id: str) -> list[ApiKeyInfo]:
        cursor = self._keys.find({"workspace_id": workspace_id}, {"token_hash": 0}).sort("_id", 1)
        return [ApiKeyInfo.from_document(document) async for document in cursor]

    async def get(self, workspace_id: str, key_id: str) -> ApiKeyInfo | None:
        document = await self._keys.find_one({"_id": key_id, "workspace_id": workspace_id}, {"token_hash": 0})
        return ApiKeyInfo.from_document(document) if document else None

    async def revoke(self, workspace_id: str, key_id: str) -> bool:
        result = await self._keys.update_one(
            {"_id": key_id, "workspace_id": workspace_id, "revoked_at": None},
            {"$set": {"revoked_at": self._clock.now()}},
        )
        return result.modified_count == 1

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


class KeyCache:
    """Recently seen keys, so that a busy client costs no database look-up per request.

    Per process and short-lived: a revocation ends a key at once where its announcement arrives (the
    API checks the revoked set as well), and within ``seconds`` everywhere else."""

    MAX_ENTRIES = 10_000

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, token_hash: str, principal: Principal) -> None:
        if self._seconds <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()  # bounded memory; the next requests simply look up again
        self._entries[token_hash] = (principal, time.monotonic() + self._seconds)

    def forget(self, key_id: str) -> None:
        self._entries = {h: entry for h, entry in self._entries.items() if entry[0].key_id != key_id}


class ApiKeyService:
    def __init__(
        self,
        keys: ApiKeyRepository,
        workspaces: WorkspaceRepository,
        notifier: KeyRevocationNotifier,
        *,
        cache_seconds: float = 0.0,
    ) -> None:
        self._keys = keys
        self._workspaces = workspaces
        self._notifier = notifier
        self._cache = KeyCache(cache_seconds)

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
        if token is None:
            raise Unauthenticated("a valid API key is required: send 'Authorization: Bearer <key>'")
        token_hash = hash_token(token)
        principal = self._cache.get(token_hash) or await self._keys.find_active_by_token(token)
        if principal is None:
            raise Unauthenticated("a valid API key is required: send 'Authorization: Bearer <key>'")
        self._cache.put(token_hash, principal)
        return principal

    def forget(self, key_id: str) -> None:
        """A revocation announced by another process: stop trusting the cached key now."""
        self._cache.forget(key_id)

    async def list(self, principal: Principal) -> list[ApiKeyInfo]:
        principal.require(Permission.MANAGE_KEYS)
        return await self._keys.list(principal.workspace_id)

    async def create(self, principal: Principal, *, user_name: str, role: Role, name: str | None = None) -> NewKey:
        """A new user with a key (the token is returned once)."""
        principal.require(Permission.MANAGE_KEYS)
        if not user_name.strip() or len(user_name) > 100:
            raise InvalidInput.one("userName", ErrorCode.INVALID_LENGTH, "1 to 100 characters")
        user = await self._workspaces.insert_user(principal.workspace_id, user_name.strip())
        issued = await self.issue(principal.workspace_id, user.id, role, (name or f"{user.name} ({role.value})")[:100])
        return await self._described(issued)

    async def rotate(self, principal: Principal, key_id: str) -> NewKey:
        """A new secret for the same user and role; the old one stops working at once."""
        principal.require(Permission.MANAGE_KEYS)
        old = await self._active(principal, key_id)
        issued = await self.issue(principal.workspace_id, old.user_id, old.role, old.name)
        await self._revoke(principal, key_id)
        return await self._described(issued)

    async def revoke(self, principal: Principal, key_id: str) -> ApiKeyInfo:
        principal.require(Permission.MANAGE_KEYS)
        await self._active(principal, key_id)
        await self._revoke(principal, key_id)
        revoked = await self._keys.get(principal.workspace_id, key_id)
        assert revoked is not None
        return revoked

    async def _described(self, issued: IssuedKey) -> NewKey:
        info = await self._keys.get(issued.principal.workspace_id, issued.key_id)
        assert info is not None
        return NewKey(info, issued.token)

    async def _active(self, principal: Principal, key_id: str) -> ApiKeyInfo:
        key = await self._keys.get(principal.workspace_id, key_id)
        if key is None:
            raise NotFound(f"no API key {key_id!r}", field="id")
        if key.revoked_at is not None:
            raise Conflict("the key is already revoked", field="id", code=ErrorCode.ALREADY_REVOKED)
        return key

    async def _revoke(self, principal: Principal, key_id: str) -> None:
        await self._keys.revoke(principal.workspace_id, key_id)
        self._cache.forget(key_id)
        await self._notifier.key_revoked(key_id)


def parse_bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
