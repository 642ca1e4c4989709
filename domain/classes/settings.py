"""Per-workspace class-set settings: thresholds, windows, hysteresis, labels and colours, validated.

Defaults live in the scoring dataclasses and the catalogue; a workspace stores only what it changed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict
from typing import Annotated, Any, Self

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from domain.classes.catalogue import CLASS_SETS, LANGUAGES, class_set
from domain.errors import FieldError, InvalidInput
from domain.validation import LabelText, clean_text, validate
from scoring.catalogue import DEFAULT_HYSTERESIS

COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _increasing(values: list[int | float], message: str) -> None:
    if any(low >= high for low, high in itertools.pairwise(values)):
        raise PydanticCustomError("NOT_INCREASING", message)


class SpendTierParams(_Params):
    """Lowest net spend for each tier, in minor units of the workspace currency."""

    new: Annotated[int, Field(ge=1)]
    platinum: Annotated[int, Field(ge=1)]
    diamond: Annotated[int, Field(ge=1)]
    luxurious: Annotated[int, Field(ge=1, le=10**15)]

    @model_validator(mode="after")
    def ordered(self) -> Self:
        _increasing(
            [self.new, self.platinum, self.diamond, self.luxurious],
            "tiers must rise: new < platinum < diamond < luxurious",
        )
        return self


class AgeBandParams(_Params):
    young_from: Annotated[int, Field(ge=1, le=120)]
    adult_from: Annotated[int, Field(ge=1, le=120)]
    senior_from: Annotated[int, Field(ge=1, le=120)]

    @model_validator(mode="after")
    def ordered(self) -> Self:
        _increasing([self.young_from, self.adult_from, self.senior_from], "bands must rise: young < adult < senior")
        return self


class TenureParams(_Params):
    established_after_days: Annotated[int, Field(ge=1, le=36500)]
    long_term_after_days: Annotated[int, Field(ge=1, le=36500)]

    @model_validator(mode="after")
    def ordered(self) -> Self:
        _increasing([self.established_after_days, self.long_term_after_days], "established must come before long-term")
        return self


class PurchaseStageParams(_Params):
    loyal_orders: Annotated[int, Field(ge=2, le=1000)]
    window_days: Annotated[int, Field(ge=1, le=3650)]


class DealStatusParams(_Params):
    quality_orders: Annotated[int, Field(ge=1, le=10_000)]
    quality_spend: Annotated[int, Field(ge=1)]
    key_orders: Annotated[int, Field(ge=1, le=10_000)]
    key_spend: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def ordered(self) -> Self:
        _increasing([self.quality_orders, self.key_orders], "key accounts need more orders than quality ones")
        _increasing([self.quality_spend, self.key_spend], "key accounts need more spend than quality ones")
        return self


Share = Annotated[float, Field(gt=0, le=1)]


class PsychologyParams(_Params):
    promotion_discount_share: Share
    novelty_item_share: Share
    appearance_item_share: Share
    service_ratings: Annotated[int, Field(ge=1, le=1000)]


class ValueClassParams(_Params):
    negative_complaints: Annotated[int, Field(ge=1, le=1000)]
    loyal_min_frequency_score: Annotated[int, Field(ge=1, le=5)]
    loyal_min_recency_score: Annotated[int, Field(ge=1, le=5)]
    potential_min_recency_score: Annotated[int, Field(ge=1, le=5)]
    potential_min_monetary_score: Annotated[int, Field(ge=1, le=5)]


class MarketFitParams(_Params):
    countries: Annotated[list[str], Field(max_length=250)] = []
    cities: Annotated[list[LabelText], Field(max_length=500)] = []
    legal_types: Annotated[list[str], Field(max_length=2)] = []
    min_age: Annotated[int, Field(ge=0, le=120)] | None = None
    max_age: Annotated[int, Field(ge=0, le=120)] | None = None

    @model_validator(mode="after")
    def known_values(self) -> Self:
        unknown = [code for code in self.countries if code not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise PydanticCustomError("UNKNOWN_COUNTRY", "unknown country codes: {codes}", {"codes": unknown})
        if any(value not in ("individual", "company") for value in self.legal_types):
            raise PydanticCustomError("INVALID_CHOICE", "legal types are individual or company")
        if self.min_age is not None and self.max_age is not None:
            _increasing([self.min_age, self.max_age], "min_age must be below max_age")
        return self


class HysteresisParams(_Params):
    margin_percent: Annotated[float, Field(ge=0, le=50)] = 0.0
    grace_days: Annotated[float, Field(ge=0, le=365)] = 0.0


PARAMS: dict[str, type[_Params]] = {
    "spend_tier": SpendTierParams,
    "age_band": AgeBandParams,
    "tenure": TenureParams,
    "purchase_stage": PurchaseStageParams,
    "deal_status": DealStatusParams,
    "purchase_psychology": PsychologyParams,
    "value_class": ValueClassParams,
    "market_fit": MarketFitParams,
}


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
    definition = class_set(key)
    codes = [code.code for code in definition.codes]
    updated = dict(current)
    errors: list[FieldError] = []
    if params is not None:
        model = PARAMS.get(key)
        if model is None:
            errors.append(FieldError("params", "NOT_ALLOWED", f"{key} has no settings to change"))
        else:
            merged = {**in_force, **params}
            updated["params"] = _collect(errors, "params", lambda: validate(model, merged, camel=False).model_dump())
    if hysteresis is not None:
        if key not in DEFAULT_HYSTERESIS:
            errors.append(FieldError("hysteresis", "NOT_ALLOWED", f"{key} is not an ordered class set"))
        else:
            updated["hysteresis"] = _collect(
                errors, "hysteresis", lambda: validate(HysteresisParams, hysteresis).model_dump()
            )
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


def current_params(key: str, scoring_settings: Any) -> dict[str, Any]:
    """The values in force for a set (defaults or the workspace's), for display."""
    values = getattr(scoring_settings, key, None)
    shown = asdict(values) if values is not None else {}
    if key in DEFAULT_HYSTERESIS:
        shown["hysteresis"] = asdict(scoring_settings.hysteresis[key])
    return {name: list(value) if isinstance(value, tuple) else value for name, value in shown.items()}


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
        return [FieldError("labels", "TOO_MANY_ITEMS", f"at most one entry per code ({len(codes)})")]
    for code, by_language in labels.items():
        if code not in codes:
            errors.append(FieldError(f"labels.{code}", "UNKNOWN_CLASS_CODE", f"codes are {', '.join(codes)}"))
        elif set(by_language) != set(LANGUAGES) or not all(text.strip() for text in by_language.values()):
            errors.append(FieldError(f"labels.{code}", "LABELS_REQUIRED", "give a label in each of vi, zh and en"))
        elif any(len(text) > 60 for text in by_language.values()):
            errors.append(FieldError(f"labels.{code}", "INVALID_LENGTH", "labels have at most 60 characters"))
        elif any(_normalised(text) is None for text in by_language.values()):
            message = "labels must not contain control or text-direction characters"
            errors.append(FieldError(f"labels.{code}", "INVALID_CHARACTERS", message))
    return errors


def _normalised(text: str) -> str | None:
    try:
        return clean_text(text.strip())
    except PydanticCustomError:
        return None


def _color_errors(colors: dict[str, str], codes: list[str]) -> list[FieldError]:
    errors = []
    if len(colors) > len(codes):
        return [FieldError("colors", "TOO_MANY_ITEMS", f"at most one entry per code ({len(codes)})")]
    for code, color in colors.items():
        if code not in codes:
            errors.append(FieldError(f"colors.{code}", "UNKNOWN_CLASS_CODE", f"codes are {', '.join(codes)}"))
        elif not COLOR.match(color):
            errors.append(FieldError(f"colors.{code}", "INVALID_COLOR", "colours are #RRGGBB"))
    return errors


assert set(PARAMS) <= set(CLASS_SETS)
