"""Pure scoring: spend tier boundaries, labels and evidence, without I/O."""

from __future__ import annotations

import numpy as np
import pytest

from domain.classes.catalogue import DEFAULT_SPEND_TIER_THRESHOLDS_VND, SPEND_TIER
from domain.classes.evidence import render_evidence
from scoring.spend_tier import SPEND_TIER_CODES, SpendTierThresholds, classify_spend_tier

T = DEFAULT_SPEND_TIER_THRESHOLDS_VND


@pytest.mark.parametrize(
    ("net_spend", "code"),
    [
        (-500_000, "none"),  # refunds larger than what was paid in the window never go below none
        (0, "none"),
        (1, "new"),
        (T.platinum - 1, "new"),
        (T.platinum, "platinum"),
        (T.diamond - 1, "platinum"),
        (T.diamond, "diamond"),
        (T.luxurious - 1, "diamond"),
        (T.luxurious, "luxurious"),
        (10**15, "luxurious"),
    ],
)
def test_boundaries(net_spend: int, code: str) -> None:
    result = classify_spend_tier(np.array([net_spend], dtype=np.int64), T)
    assert result.codes() == [code]


def test_batch_is_classified_element_by_element() -> None:
    spends = np.array([0, T.luxurious, 1, T.diamond + 5], dtype=np.int64)
    result = classify_spend_tier(spends, T)
    assert result.codes() == ["none", "luxurious", "new", "diamond"]
    assert result.lower.tolist() == [0, T.luxurious, 1, T.diamond]
    assert result.upper.tolist() == [1, -1, T.platinum, T.luxurious]


def test_more_spend_never_means_a_lower_tier() -> None:
    spends = np.sort(np.random.default_rng(1).integers(-(10**6), 10**8, size=5000)).astype(np.int64)
    indexes = classify_spend_tier(spends, T).code_index
    assert np.all(np.diff(indexes) >= 0)


@pytest.mark.parametrize("bounds", [(0, 2, 3, 4), (1, 5, 5, 6), (1, 9, 8, 10)])
def test_thresholds_must_be_positive_and_increasing(bounds: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        SpendTierThresholds(*bounds)


def test_every_code_has_three_labels_and_a_colour() -> None:
    assert tuple(code.code for code in SPEND_TIER.codes) == SPEND_TIER_CODES
    for code in SPEND_TIER.codes:
        assert set(code.labels) == {"vi", "zh", "en"} and all(code.labels.values())
        assert code.color is not None and code.color.startswith("#")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "net spend 23,400,000 VND ≥ Diamond threshold 20,000,000 VND"),
        ("vi", "chi tiêu ròng 23.400.000 VND ≥ ngưỡng Kim cương (Diamond) 20.000.000 VND"),
        ("zh", "净消费 23,400,000 VND ≥ 钻石门槛 20,000,000 VND"),
    ],
)
def test_evidence_names_the_amount_and_the_threshold(lang: str, expected: str) -> None:
    evidence = {
        "net_spend_minor": 23_400_000,
        "currency": "VND",
        "code": "diamond",
        "threshold_minor": T.diamond,
        "next_threshold_minor": T.luxurious,
    }
    assert render_evidence("spend_tier", evidence, lang) == expected


def test_evidence_for_no_spend_names_the_missed_threshold() -> None:
    evidence = {
        "net_spend_minor": 0,
        "currency": "VND",
        "code": "none",
        "threshold_minor": 0,
        "next_threshold_minor": 1,
    }
    assert render_evidence("spend_tier", evidence, "en") == "net spend 0 VND < New threshold 1 VND"
