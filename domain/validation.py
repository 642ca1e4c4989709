"""Turns pydantic validation failures into field errors with stable codes, and shared input types."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, StringConstraints, ValidationError, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, PydanticCustomError

from domain.errors import ErrorCode, FieldError, InvalidInput
from scoring.spec import (
    ControlCharacters,
    NotIncreasing,
    RefusedValue,
    UnknownChoice,
    UnknownCountry,
    plain_text,
)

_CODES_BY_PYDANTIC_TYPE = {
    "missing": ErrorCode.REQUIRED,
    "string_too_short": ErrorCode.INVALID_LENGTH,
    "string_too_long": ErrorCode.INVALID_LENGTH,
    "string_pattern_mismatch": ErrorCode.INVALID_FORMAT,
    "too_long": ErrorCode.TOO_MANY_ITEMS,
    "too_short": ErrorCode.TOO_FEW_ITEMS,
    "greater_than": ErrorCode.OUT_OF_RANGE,
    "greater_than_equal": ErrorCode.OUT_OF_RANGE,
    "less_than": ErrorCode.OUT_OF_RANGE,
    "less_than_equal": ErrorCode.OUT_OF_RANGE,
    "enum": ErrorCode.INVALID_CHOICE,
    "literal_error": ErrorCode.INVALID_CHOICE,
    "extra_forbidden": ErrorCode.UNKNOWN_FIELD,
}

# Dates in the future by more than this are clock skew we refuse rather than silently accept.
# A client's input as it arrived (API input objects, import rows). It crosses into the domain untyped on
# purpose: the service that receives it validates it with its pydantic model and owns the field errors,
# so a second typed mirror of each model at the edge would be one more copy to keep in step.
type RawInput = Mapping[str, object]

FUTURE_TOLERANCE = timedelta(minutes=5)


def field_path(loc: tuple[int | str, ...], camel: bool = True) -> str:
    return ".".join(to_camel(part) if isinstance(part, str) and camel else str(part) for part in loc)


_CODES_BY_REFUSAL: dict[type[RefusedValue], ErrorCode] = {
    NotIncreasing: ErrorCode.NOT_INCREASING,
    ControlCharacters: ErrorCode.INVALID_CHARACTERS,
    UnknownCountry: ErrorCode.UNKNOWN_COUNTRY,
    UnknownChoice: ErrorCode.INVALID_CHOICE,
}
_OUR_CODES = frozenset(ErrorCode)


def error_code(detail: ErrorDetails) -> ErrorCode:
    """Our own validators raise with an ErrorCode as the type, scoring's with a RefusedValue; pydantic's
    built-in checks are mapped, and anything else is a generic INVALID_VALUE (never a type name that
    could change with pydantic's next release)."""
    kind = detail["type"]
    if kind in _OUR_CODES:
        return ErrorCode(kind)
    refusal = detail.get("ctx", {}).get("error")
    if kind == "value_error" and isinstance(refusal, RefusedValue):
        return _CODES_BY_REFUSAL.get(type(refusal), ErrorCode.INVALID_VALUE)
    return _CODES_BY_PYDANTIC_TYPE.get(kind, ErrorCode.INVALID_VALUE)


def to_field_errors(error: ValidationError, camel: bool = True) -> list[FieldError]:
    result = []
    for detail in error.errors(include_url=False):
        code = error_code(detail)
        # pydantic's words for a missing field ("Field required") say less than ours, in the API's voice.
        message = "required" if detail["type"] == "missing" else str(detail["msg"]).removeprefix("Value error, ")
        result.append(FieldError(field_path(tuple(detail["loc"]), camel), code, message))
    return result


def validate[M: BaseModel](model: type[M], data: Mapping[str, Any], *, camel: bool = True, **context: Any) -> M:
    """Validate ``data`` against ``model`` or raise InvalidInput listing every bad field.

    Field paths are camelCase like the GraphQL inputs, unless ``camel`` is False (JSON settings, whose
    keys clients send as they are stored)."""
    try:
        return model.model_validate(dict(data), context=context)
    except ValidationError as error:
        raise InvalidInput(to_field_errors(error, camel)) from None


def validate_rows[M: BaseModel](model: type[M], rows: Sequence[Mapping[str, Any]], **context: Any) -> list[M]:
    """Validate every row; errors from all rows are reported together with ``rows.N.`` paths."""
    errors: list[FieldError] = []
    valid: list[M] = []
    for index, row in enumerate(rows):
        with row_errors(index, errors):
            valid.append(validate(model, row, **context))
    if errors:
        raise InvalidInput(errors)
    return valid


@contextmanager
def row_errors(index: int, collected: list[FieldError] | None = None) -> Iterator[None]:
    """Re-labels InvalidInput raised for one row with the row's position; collects or re-raises."""
    try:
        yield
    except InvalidInput as error:
        relabelled = [
            FieldError(f"rows.{index}" + (f".{item.field}" if item.field else ""), item.code, item.message)
            for item in error.errors
        ]
        if collected is None:
            raise InvalidInput(relabelled) from None
        collected.extend(relabelled)


def _now(info: ValidationInfo) -> datetime:
    """The moment the use case validates at: every service passes its clock's ``now`` in the context."""
    now = (info.context or {}).get("now")
    if not isinstance(now, datetime):
        raise TypeError("validate() needs now=<the clock's moment> to check dates")
    return now


def not_in_future(value: datetime, info: ValidationInfo) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if aware > _now(info) + FUTURE_TOLERANCE:
        raise PydanticCustomError(ErrorCode.IN_FUTURE, "must not be in the future")
    if aware.year < 1900:
        raise PydanticCustomError(ErrorCode.OUT_OF_RANGE, "must be after 1900")
    return aware.astimezone(UTC)


def past_date(value: date, info: ValidationInfo) -> date:
    if value >= _now(info).date():
        raise PydanticCustomError(ErrorCode.NOT_IN_PAST, "must be a date in the past")
    if value.year < 1900:
        raise PydanticCustomError(ErrorCode.OUT_OF_RANGE, "must be after 1900")
    return value


clean_text = plain_text  # one rule for every text a client sends (class-set settings included)


PastTimestamp = Annotated[datetime, AfterValidator(not_in_future)]
PastDate = Annotated[date, AfterValidator(past_date)]


_NO_CONTROL = AfterValidator(clean_text)

# Bounded, trimmed text fields.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), _NO_CONTROL]
NameText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _NO_CONTROL]
LabelText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), _NO_CONTROL]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), _NO_CONTROL]
# Free text that may be empty (custom attribute values).
AnyText = Annotated[str, StringConstraints(max_length=1000), _NO_CONTROL]
