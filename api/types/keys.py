from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.context import RequestContext
from api.types.customer import User
from api.types.errors import UserError
from domain.auth.keys import ApiKeyInfo
from domain.auth.principals import Role

RoleEnum = strawberry.enum(Role, name="Role")


@strawberry.type(description="An API key as admins see it: never the secret, only its last four characters")
class ApiKey:
    id: strawberry.ID
    name: str
    role: RoleEnum  # type: ignore[valid-type]
    hint: str
    created_at: datetime
    revoked_at: datetime | None
    user_id: strawberry.Private[str]

    @strawberry.field
    async def user(self, info: Info[RequestContext, None]) -> User | None:
        return await User.load(info, self.user_id)

    @classmethod
    def from_domain(cls, key: ApiKeyInfo) -> ApiKey:
        return cls(
            id=strawberry.ID(key.id),
            name=key.name,
            role=key.role,
            hint=key.hint,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            user_id=key.user_id,
        )


@strawberry.input
class ApiKeyInput:
    user_name: str
    role: RoleEnum  # type: ignore[valid-type]
    name: str | None = None


@strawberry.type
class ApiKeyPayload:
    key: ApiKey | None = None
    token: str | None = strawberry.field(default=None, description="The secret, shown this once")
    errors: list[UserError] = strawberry.field(default_factory=list)
