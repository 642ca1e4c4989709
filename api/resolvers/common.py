"""What every resolver module shares: the typed ``info`` and the one way a use case becomes a payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from strawberry.types import Info

from api.context import RequestContext
from api.types.errors import user_errors
from domain.errors import Conflict, InvalidInput, NotFound

CrmInfo = Info[RequestContext, None]

# Errors that belong in a payload's ``errors`` list; auth failures stay top-level GraphQL errors.
PAYLOAD_ERRORS = (InvalidInput, NotFound, Conflict)

CREATED = "True when this call created the record, false when it was there already (a retried request)"


async def respond[T, P](payload: Callable[..., P], work: Awaitable[T], success: Callable[[T], P]) -> P:
    """Run a use case: its result becomes the payload through ``success``, the expected failures of its
    input become the payload's ``errors`` (and nothing was written)."""
    try:
        result = await work
    except PAYLOAD_ERRORS as error:
        return payload(errors=user_errors(error))
    return success(result)
