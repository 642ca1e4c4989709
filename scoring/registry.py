"""The class sets the CRM computes, in the order they are computed (a set may read those before it).

Adding a class set is one module with its ClassSetSpec (see scoring/spend_tier.py) and one line here;
the catalogue, settings validation, evidence sentences, the API's classSets, indexes and the scorer
all derive from this list.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from scoring import (
    age_band,
    approach,
    deal_status,
    future_value_class,
    lead,
    market_fit,
    purchase_psychology,
    purchase_stage,
    rfm,
    spend_tier,
    tenure,
    value_class,
)
from scoring.spec import ClassSetSpec


class Registry:
    """Class-set specs by key, in computing order. Fixed at import; ``registered`` adds one for a while
    (a test's toy class set)."""

    def __init__(self, specs: list[ClassSetSpec]) -> None:
        self._specs = {spec.key: spec for spec in specs}

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._specs))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def __getitem__(self, key: str) -> ClassSetSpec:
        return self._specs[key]

    def specs(self) -> list[ClassSetSpec]:
        return list(self._specs.values())

    @contextmanager
    def registered(self, spec: ClassSetSpec) -> Iterator[ClassSetSpec]:
        if spec.key in self._specs:
            raise ValueError(f"class set {spec.key!r} is registered already")
        self._specs[spec.key] = spec
        try:
            yield spec
        finally:
            del self._specs[spec.key]


CLASS_SETS = Registry(
    [
        spend_tier.SPEC,
        age_band.SPEC,
        tenure.SPEC,
        purchase_stage.SPEC,
        deal_status.SPEC,
        rfm.SPEC,
        value_class.SPEC,
        purchase_psychology.SPEC,
        market_fit.SPEC,
        approach.SPEC,
        lead.SPEC,
        future_value_class.SPEC,
    ]
)
