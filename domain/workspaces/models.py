"""A workspace is one shop's CRM: its currency, country and class-set settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.classes.catalogue import DEFAULT_SPEND_TIER_THRESHOLDS_VND
from scoring.catalogue import ScoringSettings
from scoring.spend_tier import SpendTierThresholds


@dataclass(frozen=True, slots=True)
class ClassSettings:
    version: int
    spend_tier: SpendTierThresholds

    @property
    def scoring(self) -> ScoringSettings:
        """Thresholds for every class set; only the spend tier is stored per workspace so far."""
        return ScoringSettings(spend_tier=self.spend_tier)

    def to_document(self) -> dict[str, Any]:
        thresholds = self.spend_tier
        return {
            "version": self.version,
            "spend_tier": {
                "new": thresholds.new,
                "platinum": thresholds.platinum,
                "diamond": thresholds.diamond,
                "luxurious": thresholds.luxurious,
            },
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ClassSettings:
        return cls(version=document["version"], spend_tier=SpendTierThresholds(**document["spend_tier"]))


DEFAULT_CLASS_SETTINGS = ClassSettings(version=1, spend_tier=DEFAULT_SPEND_TIER_THRESHOLDS_VND)


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    currency: str
    country: str
    class_settings: ClassSettings

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Workspace:
        return cls(
            id=document["_id"],
            name=document["name"],
            currency=document["currency"],
            country=document["country"],
            class_settings=ClassSettings.from_document(document["class_settings"]),
        )


@dataclass(frozen=True, slots=True)
class User:
    id: str
    workspace_id: str
    name: str
