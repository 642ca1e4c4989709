"""The one place where errors become what clients see: domain errors keep their code and field,
everything else is masked and logged with the request's id."""

from __future__ import annotations

import logging
import re
import uuid

from graphql.error import GraphQLError
from pymongo.errors import ConnectionFailure, PyMongoError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from strawberry.extensions import MaskErrors

from domain.errors import DomainError, ErrorCode, ServiceUnavailable

log = logging.getLogger("api.errors")

MASKED_MESSAGE = "Internal server error"
OUTAGE_MESSAGE = "a backing service (database or queue) is unreachable; try again shortly"


# What a backing service being unreachable raises, wherever it is met.
OUTAGE_ERRORS = (ConnectionFailure, RedisConnectionError, RedisTimeoutError)


def _is_outage(error: Exception) -> bool:
    return isinstance(error, OUTAGE_ERRORS)


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    # Errors without an original are GraphQL's own (syntax, validation): safe and useful to show.
    return original is not None and not isinstance(original, DomainError | GraphQLError)


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# Messages may quote input (a variable's value, an unknown name): never echo a large one back.
MAX_MESSAGE = 300


def clipped(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def extensions(error: DomainError) -> dict[str, object]:
    """What clients read in ``errors[].extensions``: the code, the input field if there is one, and for
    an outage (whichever service is down) when to retry."""
    result: dict[str, object] = {"code": error.code}
    if error.field:
        result["field"] = error.field
    if isinstance(error, ServiceUnavailable):
        result["retryAfter"] = error.retry_after_seconds
    return result


class DomainErrorMasker(MaskErrors):
    def __init__(self, hide_suggestions: bool = False) -> None:
        super().__init__(should_mask_error=lambda _error: True, error_message=MASKED_MESSAGE)
        self.hide_suggestions = hide_suggestions

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error = self._anonymised(error)
        if len(error.message) > MAX_MESSAGE:
            return GraphQLError(clipped(error.message), nodes=error.nodes, path=error.path, extensions=error.extensions)
        return error

    def _anonymised(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, PyMongoError | RedisError) and _is_outage(original):
            log.warning("backing service unavailable at %s: %s", error.path, original)
            original = ServiceUnavailable(OUTAGE_MESSAGE)
        if isinstance(original, DomainError):
            return GraphQLError(
                original.message,
                nodes=error.nodes,
                path=error.path,
                extensions=extensions(original),
                original_error=None,
            )
        if not _is_unexpected(error):
            if self.hide_suggestions and "Did you mean" in error.message:
                # Without introspection, suggestions would leak the schema one guess at a time.
                return GraphQLError(
                    _SUGGESTION.sub("", error.message), nodes=error.nodes, path=error.path, extensions=error.extensions
                )
            return error
        request_id = getattr(self.execution_context.context, "request_id", None) or uuid.uuid4().hex[:16]
        log.error("unexpected error in request %s at %s", request_id, error.path, exc_info=original)
        return GraphQLError(
            MASKED_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.INTERNAL, "requestId": request_id},
            original_error=None,
        )
