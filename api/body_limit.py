"""Refuses request bodies over a size before anything parses them (HTTP 413, as JSON)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import OUTAGE_MESSAGE
from domain.errors import DomainError, ErrorCode, ServiceUnavailable

log = logging.getLogger(__name__)


def json_error(status: int, code: ErrorCode, message: str, extensions: dict[str, object] | None = None) -> JSONResponse:
    """The shape every HTTP-level refusal takes, like a GraphQL error."""
    error = {"message": message, "extensions": {"code": code, **(extensions or {})}}
    return JSONResponse({"data": None, "errors": [error]}, status)


_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.REQUEST_TOO_LARGE: 413,
}


def refusal(error: DomainError) -> JSONResponse:
    """An expected failure of a plain HTTP endpoint (CSV import and export), shaped like json_error."""
    if isinstance(error, ServiceUnavailable):
        retry = error.retry_after_seconds
        response = json_error(503, error.code, error.message, {"retryAfter": retry})
        response.headers["Retry-After"] = str(retry)
        return response
    first = error.as_field_errors()[0]
    message = f"{first.field}: {first.message}" if first.field else first.message
    return json_error(_STATUS.get(first.code, 400), first.code, message)


async def outage(request: Request, error: Exception) -> Response:
    """What every plain route answers while MongoDB or Redis is unreachable, wherever it is met (the key
    check, a read, a write): 503 with Retry-After, shaped like GraphQL's SERVICE_UNAVAILABLE."""
    log.warning("backing service unavailable at %s %s: %s", request.method, request.url.path, error)
    return refusal(ServiceUnavailable(OUTAGE_MESSAGE))


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefix: str | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # File uploads stream to storage under a cap of their own (api/imports.py).
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt_prefix and scope["path"].startswith(self.exempt_prefix)):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        # Without a (truthful) length, read up to the limit and hand the body on from memory.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending it all: nothing to answer, nothing to log
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is over {self.max_bytes} bytes"
        await json_error(413, ErrorCode.REQUEST_TOO_LARGE, message)(scope, receive, send)
