"""Expected failures of the business, each with a stable code that clients can branch on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field; ``field`` is a dotted path such as ``items.0.unitPrice``."""

    field: str | None
    code: str
    message: str


class DomainError(Exception):
    """Base of every expected failure; the API shows its code and message, never a stack trace."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def as_field_errors(self) -> list[FieldError]:
        return [FieldError(self.field, self.code, self.message)]


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class InvalidInput(DomainError):
    """Input that failed validation; carries every field error found, not just the first."""

    code = "INVALID_INPUT"

    def __init__(self, errors: list[FieldError]) -> None:
        first = errors[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.errors = errors

    def as_field_errors(self) -> list[FieldError]:
        return list(self.errors)


class ServiceUnavailable(DomainError):
    """A backing service (MongoDB, Redis) cannot be reached; the request may be retried shortly."""

    code = "SERVICE_UNAVAILABLE"


class Conflict(DomainError):
    code = "CONFLICT"


class DuplicateExternalId(DomainError):
    """An external id already names another record (different content, or one the caller may not see).

    ``rows`` are the positions of the offending rows in a bulk import (empty for a single record); the
    service decides which input field that is."""

    code = "DUPLICATE_EXTERNAL_ID"

    def __init__(self, rows: list[int] | None = None) -> None:
        super().__init__("this external id already names another record")
        self.rows = rows or []

    def field_errors(self, field: str = "externalId") -> InvalidInput:
        message = "this external id already names a different record; use another one"
        if not self.rows:
            return InvalidInput([FieldError(field, self.code, message)])
        return InvalidInput([FieldError(f"rows.{row}.{field}", self.code, message) for row in self.rows])
