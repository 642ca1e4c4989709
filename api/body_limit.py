"""Refuses request bodies over a size before anything parses them (HTTP 413, as JSON)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import DomainError, ErrorCode


def json_error(status: int, code: ErrorCode, message: str) -> JSONResponse:
    """The shape every HTTP-level refusal takes, like a GraphQL error."""
    return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status)


_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.REQUEST_TOO_LARGE: 413,
}


def refusal(error: DomainError) -> JSONResponse:
    """An expected failure of a plain HTTP endpoint (CSV import and export), shaped like json_error."""
    first = error.as_field_errors()[0]
    message = f"{first.field}: {first.message}" if first.field else first.message
    return json_error(_STATUS.get(first.code, 400), first.code, message)


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
