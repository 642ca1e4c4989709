"""The GraphQL endpoint: builds each request's context and authenticates HTTP and websocket callers."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from pymongo.errors import ConnectionFailure
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.execution import SubscriptionExecutionResult
from strawberry.types.unset import UnsetType

from api.body_limit import json_error
from api.context import RequestContext
from api.errors import OUTAGE_ERRORS, OUTAGE_MESSAGE, extensions
from api.persisted import PersistedQueries, PersistedQueryError
from api.telemetry import ApiMetrics
from domain.auth.principals import Principal
from domain.errors import DomainError, ErrorCode, ServiceUnavailable, Unauthenticated

log = logging.getLogger(__name__)


class IdleClosingHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """graphql-transport-ws, closing a connection that has had no operation running for a while."""

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        self._metrics: ApiMetrics | None = getattr(self.view, "metrics", None)
        if self._metrics is not None:
            self._metrics.websockets.inc()
        self._last_active = asyncio.get_running_loop().time()
        self._idle_watch = asyncio.create_task(self._close_when_idle())

    async def handle_message(self, message: Any) -> None:
        self._last_active = asyncio.get_running_loop().time()
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Every operation sent over the websocket (query, mutation or subscription) passes the same
        persisted-query check as over HTTP before it runs."""
        if not self.connection_acknowledged or message["id"] in self.operations:
            await super().handle_subscribe(message)  # which closes the connection, as the protocol says
            return
        data = _request_data(message["payload"])
        if data is None:
            await self.handle_invalid_message("Invalid subscribe payload")
            return
        resolved = await self._resolved(message["id"], data)
        if resolved is None:
            return  # refused, and told so
        if resolved.query is None:
            await self.handle_invalid_message("Invalid subscribe payload: no query")
            return
        await super().handle_subscribe({**message, "payload": {**message["payload"], "query": resolved.query}})

    async def _resolved(self, operation_id: str, data: GraphQLRequestData) -> GraphQLRequestData | None:
        """The operation with its document in place, or None once it was refused."""
        try:
            await self._recheck_key()
            persisted = getattr(self.view, "persisted_queries", None)
            return data if persisted is None else await persisted.resolve(data, _caller(self.context))
        except PersistedQueryError as error:
            await self._refuse(operation_id, error.message, {"code": error.code})
        except OUTAGE_ERRORS as error:
            log.warning("backing service unavailable before a websocket operation: %s", error)
            outage = ServiceUnavailable(OUTAGE_MESSAGE)
            await self._refuse(operation_id, outage.message, extensions(outage))
        return None

    async def _refuse(self, operation_id: str, message: str, error_extensions: dict[str, object]) -> None:
        error = GraphQLError(message, extensions=error_extensions)
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    async def _recheck_key(self) -> None:
        """Before each new operation: a key revoked since the connection opened no longer works, even if
        the announcement of its revocation never reached this process (a short cached look-up)."""
        context = self.context
        if context.authenticated is None:
            return
        try:
            await context.services.keys.authenticate(_authorization(context.connection_params))
        except Unauthenticated:
            context.authenticated = None  # the operation then fails with UNAUTHENTICATED

    async def shutdown(self) -> None:
        self._idle_watch.cancel()
        metrics = getattr(self, "_metrics", None)  # set only once the connection was accepted
        if metrics is not None:
            metrics.websockets.dec()
        await super().shutdown()

    async def _close_when_idle(self) -> None:
        idle_seconds = getattr(self.view, "idle_seconds", 300.0)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(idle_seconds / 4, 5.0))
            if self.operations:
                self._last_active = loop.time()
            elif loop.time() - self._last_active >= idle_seconds:
                await self.websocket.close(code=4408, reason="Idle connection closed")
                return


CDN = "https://unpkg.com/"
GRAPHIQL_HEADERS = '{"Authorization": "Bearer <paste the key make run printed>"}'
GRAPHIQL_QUERY = """# The customer-classification CRM. Put your key in the Headers tab below, then press Run.
# Every customer's classes with their reasons, the biggest spenders first:
{
  customers(first: 10, orderBy: {field: NET_SPEND, direction: DESC}) {
    totalCount
    edges { node { name city stats { netSpend currency }
      classes { classSet code label(lang: "vi") color evidence(lang: "vi") } } }
  }
}
"""
GRAPHIQL_ASSETS_PATH = "/graphiql/static"
GRAPHIQL_ASSETS = Path(__file__).parent / "static" / "graphiql"


class CrmGraphQL(GraphQL[RequestContext, None]):
    graphql_transport_ws_handler_class = IdleClosingHandler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            # Refusals answer as JSON errors, like everything else the endpoint says.
            response = json_error(error.status_code, ErrorCode.BAD_REQUEST, error.reason)
        except PersistedQueryError as error:
            # 200, as Apollo clients expect, so that they send the document on PERSISTED_QUERY_NOT_FOUND.
            response = json_error(200, error.code, error.message)
        except OUTAGE_ERRORS as error:
            # Met before execution (the allow-list's look-up): answered as execution answers an outage.
            log.warning("backing service unavailable before execution: %s", error)
            outage = ServiceUnavailable(OUTAGE_MESSAGE)
            response = json_error(200, outage.code, outage.message, extensions(outage))
        await response(scope, receive, send)

    @property
    def graphql_ide_html(self) -> str:
        """Strawberry's GraphiQL page with its assets served by this API (api/static/graphiql), not a CDN;
        it opens on a CRM query with the Headers tab showing where the key goes."""
        page = super().graphql_ide_html.replace(CDN, GRAPHIQL_ASSETS_PATH + "/")
        page = re.sub(
            r"const EXAMPLE_QUERY = `.*?`;",
            lambda _: f"const EXAMPLE_QUERY = `{GRAPHIQL_QUERY}`;",
            page,
            count=1,
            flags=re.S,
        )
        page = page.replace(
            "React.useState(parameters.headers)", f"React.useState(parameters.headers || {GRAPHIQL_HEADERS!r})"
        )
        return page.replace("defaultEditorToolsVisibility: true", 'defaultEditorToolsVisibility: "headers"')

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying a persisted query's hash (no document) is an operation, not a browser's visit.
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: RequestContext,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """Every HTTP request (POST, GET, each of a batch) passes the persisted-query check, with its caller."""
        persisted = self.persisted_queries
        if persisted is not None:
            caller = _caller(context)
            if isinstance(request_data, list):
                request_data = [await persisted.resolve(item, caller) for item in request_data]
            else:
                request_data = await persisted.resolve(request_data, caller)
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    def encode_json(self, data: object) -> str | bytes:
        # Vietnamese and Chinese as themselves (UTF-8, JSON's own encoding), not \u escapes: the first thing
        # people read is curl's output in a terminal. Websocket messages are encoded here too.
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except RecursionError:
            raise HTTPException(400, "the request body is nested too deeply") from None

    def __init__(
        self, *args: Any, idle_seconds: float = 300.0, metrics: ApiMetrics | None = None, **kwargs: Any
    ) -> None:
        # Only graphql-transport-ws: its connection_init is where the key is checked.
        kwargs["subscription_protocols"] = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        super().__init__(*args, **kwargs)
        self.idle_seconds = idle_seconds
        self.metrics = metrics
        # Set by the app's lifespan, with the Redis client it is made with.
        self.persisted_queries: PersistedQueries | None = None

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        state = request.app.state
        context = RequestContext(
            services=state.services, hub=state.hub, rate_limiter=state.rate_limiter, request=request, response=response
        )
        # A caller's X-Request-ID (bounded, printable) ties our log lines to theirs; else our own id.
        given = request.headers.get("x-request-id", "")
        if given and len(given) <= 64 and given.isprintable():
            context.request_id = given
        if isinstance(response, Response):
            response.headers["X-Request-ID"] = context.request_id  # the id our log lines carry
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
        try:
            context.authenticated = await context.services.keys.authenticate(_authorization(context.connection_params))
        except Unauthenticated as error:
            raise ConnectionRejectionError({**extensions(error), "message": error.message}) from None
        except ConnectionFailure:
            outage = ServiceUnavailable(OUTAGE_MESSAGE)
            raise ConnectionRejectionError({**extensions(outage), "message": outage.message}) from None
        return {"workspaceId": context.authenticated.workspace_id, "role": context.authenticated.role.value}


def _caller(context: RequestContext) -> Principal | None:
    """The request's valid key, if it has one (not during an outage, not once revoked)."""
    try:
        return context.principal
    except DomainError:
        return None


def _request_data(payload: object) -> GraphQLRequestData | None:
    """A subscribe message's payload as an HTTP body would give it; None if it is not one."""
    if not isinstance(payload, dict):
        return None
    query, variables, sent = payload.get("query"), payload.get("variables"), payload.get("extensions")
    if not (isinstance(query, str | None) and isinstance(variables, dict | None) and isinstance(sent, dict | None)):
        return None
    return GraphQLRequestData(query, variables, payload.get("operationName"), sent, "http")


def _authorization(params: dict[str, Any] | None) -> str | None:
    value = (params or {}).get("authorization") or (params or {}).get("Authorization")
    return value if isinstance(value, str) else None
