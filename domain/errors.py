"""Expected failures of the business, each with a stable code that clients can branch on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    """Every code a client can receive, in ``UserError.code`` and in ``errors[].extensions.code``."""

    ALREADY_COMPLETED = "ALREADY_COMPLETED"
    ALREADY_REVOKED = "ALREADY_REVOKED"
    BAD_REQUEST = "BAD_REQUEST"
    CONFLICT = "CONFLICT"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    DISCOUNT_OVER_TOTAL = "DISCOUNT_OVER_TOTAL"
    DUPLICATE_EXTERNAL_ID = "DUPLICATE_EXTERNAL_ID"
    DUPLICATE_KEY = "DUPLICATE_KEY"
    DUPLICATE_WORD = "DUPLICATE_WORD"
    FORBIDDEN = "FORBIDDEN"
    FORBIDDEN_OWNER = "FORBIDDEN_OWNER"
    IN_FUTURE = "IN_FUTURE"
    INTERNAL = "INTERNAL"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_ATTRIBUTE_KEY = "INVALID_ATTRIBUTE_KEY"
    INVALID_CHARACTERS = "INVALID_CHARACTERS"
    INVALID_CHOICE = "INVALID_CHOICE"
    INVALID_COLOR = "INVALID_COLOR"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_FORMAT = "INVALID_FORMAT"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_LENGTH = "INVALID_LENGTH"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_STATUS = "INVALID_STATUS"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    INVALID_VALUE = "INVALID_VALUE"
    LABELS_REQUIRED = "LABELS_REQUIRED"
    NOT_ALLOWED = "NOT_ALLOWED"
    NOT_FOUND = "NOT_FOUND"
    NOT_INCREASING = "NOT_INCREASING"
    NOT_IN_PAST = "NOT_IN_PAST"
    NOT_RUNNING = "NOT_RUNNING"
    OPERATION_NAME_REQUIRED = "OPERATION_NAME_REQUIRED"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    RATE_LIMITED = "RATE_LIMITED"
    RATING_NOT_ALLOWED = "RATING_NOT_ALLOWED"
    RATING_REQUIRED = "RATING_REQUIRED"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    REQUIRED = "REQUIRED"
    RULE_TOO_LARGE = "RULE_TOO_LARGE"
    SEGMENT_CYCLE = "SEGMENT_CYCLE"
    SEGMENT_IN_USE = "SEGMENT_IN_USE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    STALE_UPDATE = "STALE_UPDATE"
    TOO_FEW_ITEMS = "TOO_FEW_ITEMS"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNKNOWN_CLASS_CODE = "UNKNOWN_CLASS_CODE"
    UNKNOWN_CLASS_SET = "UNKNOWN_CLASS_SET"
    UNKNOWN_COUNTRY = "UNKNOWN_COUNTRY"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    UNKNOWN_LANGUAGE = "UNKNOWN_LANGUAGE"
    UNKNOWN_OWNER = "UNKNOWN_OWNER"
    UNKNOWN_SEGMENT = "UNKNOWN_SEGMENT"
    NOT_STATIC = "NOT_STATIC"
    VERSION_CONFLICT = "VERSION_CONFLICT"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field; ``field`` is a dotted path such as ``items.0.unitPrice``."""

    field: str | None
    code: ErrorCode
    message: str


class DomainError(Exception):
    """Base of every expected failure; the API shows its code and message, never a stack trace."""

    code: ErrorCode

    def __init__(self, message: str, *, field: str | None = None, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def as_field_errors(self) -> list[FieldError]:
        return [FieldError(self.field, self.code, self.message)]


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class InvalidInput(DomainError):
    """Input that failed validation; carries every field error found, not just the first."""

    code = ErrorCode.INVALID_INPUT

    def __init__(self, errors: list[FieldError]) -> None:
        first = errors[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.errors = errors

    @classmethod
    def one(cls, field: str | None, code: ErrorCode, message: str) -> InvalidInput:
        return cls([FieldError(field, code, message)])

    def as_field_errors(self) -> list[FieldError]:
        return list(self.errors)


class ServiceUnavailable(DomainError):
    """A backing service (MongoDB, Redis) cannot be reached; the request may be retried shortly."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    retry_after_seconds = 5


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class RowsRefused(DomainError):
    """Some records of a request are refused for one reason: ``rows`` are their positions in a bulk import
    (empty for a single record). The service decides which input field that concerns."""

    def __init__(self, message: str, rows: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.rows = list(rows)

    def field_errors(self, field: str) -> InvalidInput:
        if not self.rows:
            return InvalidInput.one(field, self.code, self.message)
        return InvalidInput([FieldError(f"rows.{row}.{field}", self.code, self.message) for row in self.rows])


class DuplicateExternalId(RowsRefused):
    """An external id already names another record (different content, or one the caller may not see)."""

    code = ErrorCode.DUPLICATE_EXTERNAL_ID

    def __init__(self, rows: Sequence[int] = ()) -> None:
        super().__init__("this external id already names a different record; use another one", rows)


class UnknownCustomer(RowsRefused):
    """The customer a record belongs to does not exist, or is outside the caller's scope."""

    code = ErrorCode.UNKNOWN_CUSTOMER

    def __init__(self, rows: Sequence[int] = ()) -> None:
        super().__init__("no such customer in this workspace (or not one of yours)", rows)
