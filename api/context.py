"""Per-request context: the caller, the services, and DataLoaders built fresh for each request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from api.event_hub import EventHub
from api.rate_limit import RateLimiter
from domain.auth.principals import Principal
from domain.errors import ServiceUnavailable, Unauthenticated
from domain.services import Services
from domain.workspaces.models import User, Workspace


@dataclass
class RequestContext:
    services: Services
    hub: EventHub
    rate_limiter: RateLimiter | None = None
    authenticated: Principal | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    outage: ServiceUnavailable | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    _workspace: Workspace | None = None

    @property
    def principal(self) -> Principal:
        if self.outage is not None:
            raise self.outage
        # A websocket authenticates once; a revocation announced since then ends its access.
        if self.authenticated is None or self.hub.is_revoked(self.authenticated.key_id):
            raise Unauthenticated("a valid API key is required: send 'Authorization: Bearer <key>'")
        return self.authenticated

    @property
    def users(self) -> DataLoader[str, User | None]:
        loader = self._loaders.get("users")
        if loader is None:
            principal = self.principal

            async def load(ids: list[str]) -> list[User | None]:
                found = await self.services.workspace_repository.users_by_ids(principal.workspace_id, ids)
                return [found.get(user_id) for user_id in ids]

            loader = self._loaders["users"] = DataLoader(load_fn=load)
        return loader

    def forget_workspace(self) -> None:
        """After a change to the workspace's settings in this request, read them again."""
        self._workspace = None

    async def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = await self.services.workspaces.get(self.principal.workspace_id)
        return self._workspace
