"""The GraphQL endpoint: builds each request's context and authenticates HTTP and websocket callers."""

from __future__ import annotations

from typing import Any

from pymongo.errors import ConnectionFailure
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from api.context import RequestContext
from api.errors import OUTAGE_MESSAGE
from domain.errors import ServiceUnavailable, Unauthenticated


class CrmGraphQL(GraphQL[RequestContext, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        state = request.app.state
        context = RequestContext(
            services=state.services, hub=state.hub, rate_limiter=state.rate_limiter, request=request, response=response
        )
        # A caller's X-Request-ID (bounded, printable) ties our log lines to theirs; else our own id.
        given = request.headers.get("x-request-id", "")
        if given and len(given) <= 64 and given.isprintable():
            context.request_id = given
        if isinstance(request, Request):
            try:
                context.authenticated = await state.services.keys.authenticate(request.headers.get("authorization"))
            except Unauthenticated:
                # Left unset: every resolver then answers UNAUTHENTICATED; introspection stays open.
                context.authenticated = None
            except ConnectionFailure:
                context.outage = ServiceUnavailable(OUTAGE_MESSAGE)
        return context

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, Any] | None:
        """A websocket must authenticate in connection_init, before any subscription can start."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        try:
            context.authenticated = await context.services.keys.authenticate(
                authorization if isinstance(authorization, str) else None
            )
        except Unauthenticated as error:
            raise ConnectionRejectionError({"code": error.code, "message": error.message}) from None
        except ConnectionFailure:
            raise ConnectionRejectionError({"code": "SERVICE_UNAVAILABLE", "message": OUTAGE_MESSAGE}) from None
        return {"workspaceId": context.authenticated.workspace_id, "role": context.authenticated.role.value}
