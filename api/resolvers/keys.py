"""API keys (admin): list, create, rotate, revoke."""

from __future__ import annotations

import strawberry

from api.resolvers.common import CrmInfo, respond
from api.types.keys import ApiKey, ApiKeyInput, ApiKeyPayload


@strawberry.type
class KeyQuery:
    @strawberry.field(description="The workspace's API keys, without secrets (admin)")
    async def api_keys(self, info: CrmInfo) -> list[ApiKey]:
        context = info.context
        return [ApiKey.from_domain(key) for key in await context.services.keys.list(context.principal)]


@strawberry.type
class KeyMutation:
    @strawberry.mutation(description="A new user with a key of the given role (admin); the token is shown once")
    async def create_api_key(self, info: CrmInfo, input: ApiKeyInput) -> ApiKeyPayload:
        context = info.context
        return await respond(
            ApiKeyPayload,
            context.services.keys.create(
                context.principal, user_name=input.user_name, role=input.role, name=input.name
            ),
            lambda issued: ApiKeyPayload(key=ApiKey.from_domain(issued.info), token=issued.token),
        )

    @strawberry.mutation(description="A new secret for the same user and role; the old key stops at once (admin)")
    async def rotate_api_key(self, info: CrmInfo, id: strawberry.ID) -> ApiKeyPayload:
        context = info.context
        return await respond(
            ApiKeyPayload,
            context.services.keys.rotate(context.principal, str(id)),
            lambda issued: ApiKeyPayload(key=ApiKey.from_domain(issued.info), token=issued.token),
        )

    @strawberry.mutation(description="The key stops working at once, open websockets included (admin)")
    async def revoke_api_key(self, info: CrmInfo, id: strawberry.ID) -> ApiKeyPayload:
        context = info.context
        return await respond(
            ApiKeyPayload,
            context.services.keys.revoke(context.principal, str(id)),
            lambda revoked: ApiKeyPayload(key=ApiKey.from_domain(revoked)),
        )
