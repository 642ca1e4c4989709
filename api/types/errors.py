from __future__ import annotations

import strawberry

from api.errors import clipped
from domain.errors import DomainError, ErrorCode

strawberry.enum(
    ErrorCode,
    description="What went wrong, for clients to branch on; the same codes appear in errors[].extensions.code.",
)


@strawberry.type(description="A problem with the input; nothing was written.")
class UserError:
    field: str | None = strawberry.field(description="Dotted path of the input field, e.g. items.0.unitPrice")
    code: ErrorCode
    message: str


def user_errors(error: DomainError) -> list[UserError]:
    return [
        UserError(field=item.field, code=item.code, message=clipped(item.message)) for item in error.as_field_errors()
    ]
