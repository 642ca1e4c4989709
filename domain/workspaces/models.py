"""A workspace is one shop's CRM: its currency, country and class-set settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from domain.classes.catalogue import DEFAULT_SPEND_TIER_THRESHOLDS_VND
from domain.timestamps import aware
from scoring.catalogue import ScoringSettings
from scoring.market_fit import MarketFitRule
from scoring.rfm import RfmBounds
from scoring.spend_tier import SpendTierThresholds


@dataclass(frozen=True, slots=True)
class ClassSettings:
    version: int
    spend_tier: SpendTierThresholds

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
class CachedRfmBounds:
    """RFM quintiles as last computed, with what they were computed from (to know when to refresh)."""

    bounds: RfmBounds
    orders_seen: int
    computed_at: datetime

    def to_document(self) -> dict[str, Any]:
        return {**asdict(self.bounds), "orders_seen": self.orders_seen, "computed_at": self.computed_at}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> CachedRfmBounds:
        bounds = RfmBounds(tuple(document["recency_days"]), tuple(document["frequency"]), tuple(document["monetary"]))
        return cls(bounds, document["orders_seen"], aware(document["computed_at"]))


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    currency: str
    country: str
    class_settings: ClassSettings
    rfm_bounds: CachedRfmBounds | None = None

    @property
    def scoring_settings(self) -> ScoringSettings:
        """Thresholds for every class set; only the spend tier is stored per workspace so far, and the
        target market defaults to the workspace's own country."""
        return ScoringSettings(
            spend_tier=self.class_settings.spend_tier, market_fit=MarketFitRule(countries=(self.country,))
        )

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Workspace:
        return cls(
            id=document["_id"],
            name=document["name"],
            currency=document["currency"],
            country=document["country"],
            class_settings=ClassSettings.from_document(document["class_settings"]),
            rfm_bounds=CachedRfmBounds.from_document(document["rfm_bounds"]) if document.get("rfm_bounds") else None,
        )


@dataclass(frozen=True, slots=True)
class User:
    id: str
    workspace_id: str
    name: str
