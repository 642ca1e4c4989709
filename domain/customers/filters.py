"""Customer filters compiled from typed input into MongoDB queries; no client dictionary reaches a query."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.auth.principals import Permission, Principal
from domain.classes.catalogue import class_set
from domain.classes.service import require_readable_class_set
from domain.customers.models import LegalType
from domain.customers.ordering import changed_path
from domain.customers.search_text import query_words
from domain.errors import ErrorCode, FieldError, InvalidInput

MAX_FILTER_VALUES = 50


@dataclass(frozen=True, slots=True)
class ClassCondition:
    class_set: str
    codes: list[str]


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    text: str | None = None
    city: str | None = None
    region: str | None = None
    legal_type: LegalType | None = None
    tags: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    owner_id: str | None = None
    class_condition: ClassCondition | None = None
    segment_id: str | None = None  # members of a segment (customers' "segments", indexed)
    updated_since: datetime | None = None  # changed at or after (offline sync; order by CHANGED)
    ids: list[str] | None = None  # these customers only (a segment preview's sample); not a client filter


def compile_filter(principal: Principal, spec: CustomerFilter | None) -> dict[str, Any]:
    """The MongoDB filter for ``spec`` within the caller's scope; raises InvalidInput for bad values."""
    scope = principal.scope
    query = scope.query()
    if spec is None:
        return query
    _check_sizes(spec)
    wanted = query_words(spec.text or "")
    if spec.text and spec.text.strip() and not wanted:
        query["_id"] = {"$in": []}  # punctuation alone names nobody
    elif wanted:
        # Each word begins a stored word: anchored and escaped, so the index serves it and user text is
        # matched literally, never interpreted as a pattern.
        query["$and"] = [{"search_words": {"$regex": "^" + re.escape(word)}} for word in wanted]
    for name in ("city", "region"):
        value = getattr(spec, name)
        if value is not None:
            query[name] = _nfc(value)
    if spec.owner_id is not None:
        # Within a sales scope, asking for another owner's customers finds none rather than widening it.
        query["owner_id"] = str(spec.owner_id) if scope.owner_id in (None, spec.owner_id) else {"$in": []}
    if spec.legal_type is not None:
        query["legal_type"] = spec.legal_type.value
    if spec.tags:
        query["tags"] = {"$all": [_nfc(tag) for tag in spec.tags]}
    if spec.interests:
        query["interests"] = {"$all": [_nfc(interest) for interest in spec.interests]}
    if spec.class_condition is not None:
        query.update(class_query(principal, spec.class_condition))
    if spec.segment_id is not None:
        query["segments"] = str(spec.segment_id)
    if spec.updated_since is not None:
        query[changed_path(principal)] = {"$gte": spec.updated_since}
    if spec.ids is not None:
        query["_id"] = {"$in": list(spec.ids)}
    return query


def class_query(principal: Principal, condition: ClassCondition) -> dict[str, Any]:
    definition = class_set(condition.class_set, field_name="filter.class.classSet")
    require_readable_class_set(principal, definition.key, field="filter.class.classSet")
    known = {code.code for code in definition.codes}
    if len(condition.codes) > len(known):
        raise InvalidInput.one("filter.class.codes", ErrorCode.TOO_MANY_ITEMS, f"at most {len(known)} codes")
    unknown = [code for code in condition.codes if code not in known]
    if unknown or not condition.codes:
        raise InvalidInput.one(
            "filter.class.codes",
            ErrorCode.UNKNOWN_CLASS_CODE,
            f"codes must be some of {sorted(known)}; got {unknown or 'none'}",
        )
    # definition.key comes from our catalogue, so the field name is never user-controlled.
    query: dict[str, Any] = {f"classes.{definition.key}.code": {"$in": list(dict.fromkeys(condition.codes))}}
    if not principal.can(Permission.READ_SENSITIVE):
        # A class that read a sensitive field under the workspace's settings (market fit by age) stays hidden.
        query[f"classes.{definition.key}.sensitive"] = {"$ne": True}
    return query


def _nfc(value: str) -> str:
    """Stored text is NFC; so is what it is compared with, however the client's keyboard composed it."""
    return unicodedata.normalize("NFC", str(value))


def _check_sizes(spec: CustomerFilter) -> None:
    errors = []
    for name, values in (("tags", spec.tags), ("interests", spec.interests)):
        if len(values) > MAX_FILTER_VALUES:
            errors.append(FieldError(f"filter.{name}", ErrorCode.TOO_MANY_ITEMS, f"at most {MAX_FILTER_VALUES} values"))
    if spec.text is not None and len(spec.text) > 200:
        errors.append(FieldError("filter.text", ErrorCode.INVALID_LENGTH, "at most 200 characters"))
    if errors:
        raise InvalidInput(errors)
