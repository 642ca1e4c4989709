"""The baseline: a Strawberry `{ hello }` app on Starlette, the same versions and server as ours."""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hello"


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/graphql", GraphQL(strawberry.Schema(query=Query))), Route("/health", health)])
