"""The class sets the CRM computes, as the domain sees them: the registry of specs (scoring/registry.py)
and the check that a client's class-set key is one of them."""

from __future__ import annotations

from domain.errors import ErrorCode, FieldError, InvalidInput
from scoring.registry import CLASS_SETS
from scoring.spec import LANGUAGES, ClassSetSpec
from scoring.spend_tier import SpendTierThresholds

__all__ = ["CLASS_SETS", "DEFAULT_SPEND_TIER_THRESHOLDS_VND", "LANGUAGES", "SPEND_TIER", "class_set"]

SPEND_TIER = CLASS_SETS["spend_tier"]
# Net spend in minor units of VND, the currency of the first shops (the spend tier's defaults).
DEFAULT_SPEND_TIER_THRESHOLDS_VND = SpendTierThresholds()


def class_set(key: str, *, field_name: str = "classSet") -> ClassSetSpec:
    """The spec for ``key``, or a typed error naming the input field that held it."""
    if key in CLASS_SETS:
        return CLASS_SETS[key]
    known = ", ".join(CLASS_SETS)
    raise InvalidInput(
        [FieldError(field_name, ErrorCode.UNKNOWN_CLASS_SET, f"unknown class set {key[:40]!r}; known: {known}")]
    )
