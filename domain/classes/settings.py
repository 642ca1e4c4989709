"""Per-workspace class-set settings: thresholds, windows, hysteresis, labels and colours, validated.

Defaults and bounds live in each class set's spec (its params model); a workspace stores only what it
changed.
"""

from __future__ import annotations

import re
from typing import Any

from domain.classes.catalogue import LANGUAGES, class_set
from domain.errors import ErrorCode, FieldError, InvalidInput
from domain.validation import clean_text, validate
from scoring.catalogue import ScoringSettings
from scoring.hysteresis import Hysteresis
from scoring.spec import ControlCharacters

COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def validated_update(
    key: str,
    current: dict[str, Any],
    in_force: dict[str, Any],
    params: dict[str, Any] | None,
    labels: dict[str, dict[str, str]] | None,
    colors: dict[str, str] | None,
    hysteresis: dict[str, Any] | None,
) -> dict[str, Any]:
    """The class set's stored overrides after this update, or InvalidInput naming each bad field.

    ``params`` is merged over the values in force (``in_force``: the workspace's or the defaults), so
    a client may send only what it changes.
    """
    spec = class_set(key)
    codes = list(spec.code_names)
    updated = dict(current)
    errors: list[FieldError] = []
    if params is not None:
        if not spec.params.model_fields:
            errors.append(FieldError("params", ErrorCode.NOT_ALLOWED, f"{key} has no settings to change"))
        else:
            merged = {**in_force, **params}
            updated["params"] = _collect(
                errors, "params", lambda: _stored(validate(spec.params, merged, camel=False).model_dump())
            )
    if hysteresis is not None:
        if spec.hysteresis is None:
            errors.append(FieldError("hysteresis", ErrorCode.NOT_ALLOWED, f"{key} is not an ordered class set"))
        else:
            checked = _collect(errors, "hysteresis", lambda: validate(Hysteresis, hysteresis).model_dump())
            updated["hysteresis"] = checked
    if labels is not None:
        errors += _label_errors(labels, codes)
        normalised = {code: {lang: _normalised(text) for lang, text in texts.items()} for code, texts in labels.items()}
        updated["labels"] = {**(current.get("labels") or {}), **normalised}
    if colors is not None:
        errors += _color_errors(colors, codes)
        updated["colors"] = {**(current.get("colors") or {}), **colors}
    if errors:
        raise InvalidInput(errors)
    return updated


def current_params(key: str, scoring_settings: ScoringSettings) -> dict[str, Any]:
    """The values in force for a set (defaults or the workspace's), for display."""
    shown = _stored(scoring_settings.params[key].model_dump())
    if key in scoring_settings.hysteresis:
        shown["hysteresis"] = scoring_settings.hysteresis[key].model_dump()
    return shown


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}


def _collect(errors: list[FieldError], prefix: str, action: Any) -> Any:
    try:
        return action()
    except InvalidInput as error:
        errors.extend(
            FieldError(f"{prefix}.{item.field}" if item.field else prefix, item.code, item.message)
            for item in error.errors
        )
        return None


def _label_errors(labels: dict[str, dict[str, str]], codes: list[str]) -> list[FieldError]:
    errors = []
    if len(labels) > len(codes):
        return [FieldError("labels", ErrorCode.TOO_MANY_ITEMS, f"at most one entry per code ({len(codes)})")]
    for code, by_language in labels.items():
        if code not in codes:
            errors.append(FieldError(f"labels.{code}", ErrorCode.UNKNOWN_CLASS_CODE, f"codes are {', '.join(codes)}"))
        elif set(by_language) != set(LANGUAGES) or not all(text.strip() for text in by_language.values()):
            errors.append(
                FieldError(f"labels.{code}", ErrorCode.LABELS_REQUIRED, "give a label in each of vi, zh and en")
            )
        elif any(len(text) > 60 for text in by_language.values()):
            errors.append(FieldError(f"labels.{code}", ErrorCode.INVALID_LENGTH, "labels have at most 60 characters"))
        elif any(_normalised(text) is None for text in by_language.values()):
            message = "labels must not contain control or text-direction characters"
            errors.append(FieldError(f"labels.{code}", ErrorCode.INVALID_CHARACTERS, message))
    return errors


def _normalised(text: str) -> str | None:
    try:
        return clean_text(text.strip())
    except ControlCharacters:
        return None


def _color_errors(colors: dict[str, str], codes: list[str]) -> list[FieldError]:
    errors = []
    if len(colors) > len(codes):
        return [FieldError("colors", ErrorCode.TOO_MANY_ITEMS, f"at most one entry per code ({len(codes)})")]
    for code, color in colors.items():
        if code not in codes:
            errors.append(FieldError(f"colors.{code}", ErrorCode.UNKNOWN_CLASS_CODE, f"codes are {', '.join(codes)}"))
        elif not COLOR.match(color):
            errors.append(FieldError(f"colors.{code}", ErrorCode.INVALID_COLOR, "colours are #RRGGBB"))
    return errors
