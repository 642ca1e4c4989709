"""A workspace is one shop's CRM: its currency, country and class-set settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from domain.classes.catalogue import CLASS_SETS
from domain.timestamps import aware
from scoring.catalogue import ScoringSettings
from scoring.future_value import BgNbd, FutureValueModel, GammaGamma
from scoring.hysteresis import Hysteresis
from scoring.rfm_bounds import NO_BOUNDS, RfmBounds


@dataclass(frozen=True, slots=True)
class ClassSettings:
    """Versioned; per class set only what the workspace changed: params, hysteresis, labels, colors."""

    version: int
    sets: dict[str, dict[str, Any]]

    def to_document(self) -> dict[str, Any]:
        return {"version": self.version, "sets": self.sets}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ClassSettings:
        return cls(version=document["version"], sets=document.get("sets") or {})


# A new workspace keeps every class set's defaults (each spec's params model).
DEFAULT_CLASS_SETTINGS = ClassSettings(version=1, sets={})


@dataclass(frozen=True, slots=True)
class CachedRfmBounds:
    """The workspace's RFM quintiles as last computed; every change of them bumps ``version``."""

    bounds: RfmBounds
    version: int
    computed_at: datetime

    def to_document(self) -> dict[str, Any]:
        return {**asdict(self.bounds), "version": self.version, "computed_at": self.computed_at}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> CachedRfmBounds:
        bounds = RfmBounds(tuple(document["recency_days"]), tuple(document["frequency"]), tuple(document["monetary"]))
        return cls(bounds, document.get("version", 0), aware(document["computed_at"]))


# The workspace-wide models a job fits; each is stored under its kind, its last attempt under "<kind>_check".
type ModelKind = Literal["future_value", "conversion"]


@dataclass(frozen=True, slots=True)
class ConversionModelInfo:
    """The workspace's trained conversion model as the workspace document holds it: when, and its card
    (the model itself is stored apart, see domain/rescoring/conversion_models.py)."""

    trained_at: datetime
    card: dict[str, Any]

    def to_document(self) -> dict[str, Any]:
        return {"trained_at": self.trained_at, "card": self.card}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ConversionModelInfo:
        return cls(aware(document["trained_at"]), document.get("card") or {})


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    currency: str
    country: str
    class_settings: ClassSettings
    rfm_bounds: CachedRfmBounds | None = None
    rfm_changes: int = 0  # customers whose RFM inputs changed, counted by rescores (see rfm_bounds)
    future_value: FutureValueModel | None = None  # fitted by a job (domain/rescoring/future_value.py)
    conversion: ConversionModelInfo | None = None  # trained by a job (domain/rescoring/conversion.py)
    created_at: datetime | None = None
    customer_count: int | None = None  # kept by customer writes; None for workspaces made before it was
    dynamic_segments: tuple[str, ...] = ()  # ids of the segments a rescore re-evaluates (domain/segments)
    # The shop's own words for order statuses in its files (word as written, our status), over the built-in ones.
    order_status_words: tuple[tuple[str, str], ...] = ()

    @property
    def scoring_settings(self) -> ScoringSettings:
        """What the scorer uses: the workspace's values where it set them, each class set's defaults
        elsewhere (a default may depend on the workspace's country: the target market)."""
        stored = {key: entry for key, entry in self.class_settings.sets.items() if key in CLASS_SETS}
        return ScoringSettings(
            country=self.country,
            hysteresis={
                key: Hysteresis(**entry["hysteresis"]) for key, entry in stored.items() if entry.get("hysteresis")
            },
            **{key: CLASS_SETS[key].params(**entry["params"]) for key, entry in stored.items() if entry.get("params")},
        )

    def with_class_set(self, key: str, stored: dict[str, Any]) -> Workspace:
        """This workspace as if one class set's stored settings were ``stored`` (to try a change)."""
        sets = {**self.class_settings.sets, key: stored}
        return replace(self, class_settings=ClassSettings(self.class_settings.version, sets))

    @property
    def rfm_bounds_in_force(self) -> tuple[RfmBounds, int]:
        """The quintiles rescores use now, and their version (0: none computed yet)."""
        cached = self.rfm_bounds
        return (cached.bounds, cached.version) if cached else (NO_BOUNDS, 0)

    def label(self, class_set: str, code: str, lang: str) -> str:
        override = ((self.class_settings.sets.get(class_set) or {}).get("labels") or {}).get(code)
        return override[lang] if override else CLASS_SETS[class_set].code(code).label(lang)

    def color(self, class_set: str, code: str) -> str | None:
        override = ((self.class_settings.sets.get(class_set) or {}).get("colors") or {}).get(code)
        return override or CLASS_SETS[class_set].code(code).color

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Workspace:
        return cls(
            id=document["_id"],
            name=document["name"],
            currency=document["currency"],
            country=document["country"],
            class_settings=ClassSettings.from_document(document["class_settings"]),
            rfm_bounds=CachedRfmBounds.from_document(document["rfm_bounds"]) if document.get("rfm_bounds") else None,
            rfm_changes=document.get("rfm_changes") or 0,
            future_value=future_value_from_document(document["future_value"]) if document.get("future_value") else None,
            conversion=ConversionModelInfo.from_document(document["conversion"])
            if document.get("conversion")
            else None,
            created_at=aware(document.get("created_at")),
            customer_count=document.get("customer_count"),
            dynamic_segments=tuple(document.get("dynamic_segments") or ()),
            order_status_words=tuple((w["word"], w["status"]) for w in document.get("order_status_words") or ()),
        )


@dataclass(frozen=True, slots=True)
class User:
    id: str
    workspace_id: str
    name: str


def future_value_to_document(model: FutureValueModel) -> dict[str, Any]:
    return {**asdict(model), "fitted_at": datetime.fromtimestamp(model.fitted_at, UTC)}


def future_value_from_document(document: dict[str, Any]) -> FutureValueModel:
    return FutureValueModel(
        bg_nbd=BgNbd(**document["bg_nbd"]),
        gamma_gamma=GammaGamma(**document["gamma_gamma"]),
        fitted_at=aware(document["fitted_at"]).timestamp(),
        buyers=document["buyers"],
        repeat_buyers=document["repeat_buyers"],
        medium_from=document["medium_from"],
        high_from=document["high_from"],
    )
