"""What defines a class set: one declarative spec beside its classifier, everything else derives from it.

A spec names the set, lists its codes in order with their labels (vi, zh, en) and colours, holds the
pydantic model of its parameters (defaults and bounds), the vectorised classify function, the evidence
sentences per language, and flags: whether it is ordered (a default demotion hysteresis, and the margin
that holds a demotion back), whether its evidence names money, and whether it reads a sensitive field.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from scoring.batch import CustomerBatch
from scoring.future_value import FutureValueModel
from scoring.hysteresis import Hysteresis
from scoring.result import ClassSetResult, Fact, IntArray
from scoring.rfm_bounds import RfmBounds

if TYPE_CHECKING:  # scikit-learn is loaded only where a model is trained or applied
    from scoring.conversion_data import ConversionScorer

LANGUAGES: tuple[str, ...] = ("vi", "zh", "en")


class RefusedValue(ValueError):
    """A parameter or text a classifier cannot work with. Each kind is its own class so that the domain,
    which owns the error codes clients see, can give it a code without this package knowing them."""


class NotIncreasing(RefusedValue):
    pass


class ControlCharacters(RefusedValue):
    pass


class UnknownCountry(RefusedValue):
    pass


class UnknownChoice(RefusedValue):
    pass


def known_countries(codes: tuple[str, ...]) -> None:
    """For parameter validators: ISO 3166 country codes (those phone numbers know)."""
    unknown = [code for code in codes if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise UnknownCountry(f"unknown country codes: {', '.join(unknown)}")


def known_legal_types(values: tuple[str, ...]) -> None:
    if any(value not in ("individual", "company") for value in values):
        raise UnknownChoice("legal types are individual or company")


def increasing(values: list[int] | list[float], message: str) -> None:
    """For parameter validators: thresholds that must rise."""
    if any(low >= high for low, high in itertools.pairwise(values)):
        raise NotIncreasing(message)


# Bidirectional embeddings, overrides and isolates can make text display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def plain_text(value: str) -> str:
    """NFC-normalised text (the same words compare equal however they were typed), refused when it holds
    control or text-direction characters."""
    if any((unicodedata.category(ch) == "Cc" and ch not in "\t\n") or ch in _BIDI_CONTROLS for ch in value):
        raise ControlCharacters("must not contain control or text-direction characters")
    return unicodedata.normalize("NFC", value)


# A short text a parameter holds (a city, a product category): trimmed, 1-60 characters, no control characters.
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(plain_text)
]


class Params(BaseModel):
    """Base of every class set's parameters: unknown names are refused, values never change in place."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """For class sets that have nothing to set."""


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    vi: str
    zh: str
    en: str
    color: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {"vi": self.vi, "zh": self.zh, "en": self.en}

    def label(self, lang: str) -> str:
        return self.labels.get(lang, self.en)


@dataclass(frozen=True, slots=True)
class Sentence:
    vi: str
    zh: str
    en: str

    def in_language(self, lang: str) -> str:
        return {"vi": self.vi, "zh": self.zh, "en": self.en}.get(lang, self.en)


def _known(facts: Mapping[str, Fact]) -> str:
    return "known"


def unless_missing(fact: str, missing: str = "unknown", present: str = "known") -> Callable[[Mapping[str, Fact]], str]:
    """The evidence case of sets whose sentence depends on whether one fact is known."""
    return lambda facts: missing if facts.get(fact) is None else present


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a customer has its code, as one of a few sentences. ``case`` picks the sentence from the stored
    facts. Placeholders name facts; an amount fact ``x_minor`` is shown as ``{x}`` in the currency, a
    share ``x_share`` as a percentage, ``{label}`` is the code's label and ``{labels[code]}`` another's."""

    sentences: Mapping[str, Sentence]
    case: Callable[[Mapping[str, Fact]], str] = _known
    # Facts whose values are names (a factor, a kind) are shown in the reader's language.
    value_names: Mapping[str, Sentence] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScoringContext:
    """What a classifier may read besides its batch and parameters: the workspace's RFM quintiles and the
    results of the class sets registered before it."""

    bounds: RfmBounds
    earlier: Mapping[str, ClassSetResult] = field(default_factory=dict)
    future_value: FutureValueModel | None = None  # the workspace's fitted models, once there are any
    conversion: ConversionScorer | None = None  # the workspace's trained conversion model, once there is one


@dataclass(frozen=True, slots=True)
class Margin:
    """An ordered set whose demotion waits while a value stays within a margin below the code's lower
    bound: ``value`` per customer and ``floors`` (the lower bound of each code, in code order)."""

    value: Callable[[CustomerBatch], IntArray]
    floors: Callable[[Any], IntArray]


@dataclass(frozen=True)
class ClassSetSpec:
    key: str
    names: Sentence
    codes: tuple[Code, ...]
    classify: Callable[[CustomerBatch, Any, ScoringContext], ClassSetResult]
    evidence: Evidence
    params: type[Params] = NoParams
    # Parameters by the workspace's country, where the defaults depend on it (a target market).
    defaults: Callable[[str], Params] | None = None
    hysteresis: Hysteresis | None = None  # an ordered set: demotions wait by default
    margin: Margin | None = None
    money_evidence: bool = False  # the evidence names amounts: it carries the workspace currency
    personal: bool = False  # always computed from a sensitive field (birth date, personality)
    personal_when: Callable[[Any], bool] | None = None  # or only under some parameters
    time_scheduled: bool = False  # classes change with time alone (its results carry next_change_at)

    @property
    def code_names(self) -> tuple[str, ...]:
        return tuple(code.code for code in self.codes)

    def code(self, code: str) -> Code:
        for candidate in self.codes:
            if candidate.code == code:
                return candidate
        raise KeyError(code)

    def default_params(self, country: str) -> Params:
        """The defaults for a workspace in ``country`` ("" when there is none: the model's own)."""
        return self.defaults(country) if self.defaults is not None and country else self.params()

    def reads_personal_details(self, params: Params) -> bool:
        return self.personal or (self.personal_when is not None and self.personal_when(params))

    def result(self, code_index: IntArray, facts: Mapping[str, np.ndarray[Any, Any]]) -> ClassSetResult:
        return ClassSetResult(self.key, self.code_names, code_index.astype(np.int64), dict(facts))
