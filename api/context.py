"""Per-request context: the caller, the services, the workspace and DataLoaders built fresh for each request."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.event_hub import EventHub
from api.loaders import Loaders, build_loaders
from api.rate_limit import RateLimiter
from domain.auth.principals import Principal
from domain.errors import ServiceUnavailable, Unauthenticated
from domain.services import Services
from domain.workspaces.models import Workspace


@dataclass
class RequestContext:
    services: Services
    hub: EventHub
    rate_limiter: RateLimiter | None = None
    authenticated: Principal | None = None
    request: Request | WebSocket | None = None
    response: Response | WebSocket | None = None
    connection_params: dict[str, Any] | None = None
    outage: ServiceUnavailable | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    query_cost: int | None = None  # set once the operation's cost is known
    _loaders: Loaders | None = None
    # The read itself is shared: every resolver of the request awaits the same one, even those that
    # start before it returns.
    _workspace: asyncio.Task[Workspace] | None = None

    @property
    def principal(self) -> Principal:
        if self.outage is not None:
            raise self.outage
        # A websocket authenticates once; a revocation announced since then ends its access.
        if self.authenticated is None or self.hub.is_revoked(self.authenticated.key_id):
            raise Unauthenticated("a valid API key is required: send 'Authorization: Bearer <key>'")
        return self.authenticated

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = build_loaders(self.services, self.principal)
        return self._loaders

    def forget_workspace(self) -> None:
        """After a change to the workspace's settings in this request, read them again."""
        self._workspace = None

    async def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = asyncio.ensure_future(self.services.workspaces.get(self.principal.workspace_id))
        return await self._workspace
