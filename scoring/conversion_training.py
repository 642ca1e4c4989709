"""Training a workspace's conversion model from its own history, behind a data gate, with a model card.

Pure: the job reads every customer once (profile, first paid order, average paid order, sales verdict)
and their touches, and stores what this returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.batch import CustomerBatch
from scoring.conversion import cross_validate, fit_conversion
from scoring.conversion_data import (
    CATEGORICAL,
    LOST,
    MIN_LOST,
    MIN_WON,
    WON,
    ConversionScorer,
    conversion_columns,
    conversion_labels,
)
from scoring.lead import LeadParams
from scoring.result import FloatArray


@dataclass(frozen=True, slots=True)
class LeadHistory:
    """Every customer of a workspace, as a batch (profile and touches) and what became of it."""

    batch: CustomerBatch
    first_paid: FloatArray  # first paid order, epoch seconds (NaN: none)
    average_order_minor: FloatArray  # net spend per paid order (NaN: none)
    verdict_at: FloatArray  # when sales gave a verdict (NaN: none)
    verdict_won: npt.NDArray[np.bool_]  # the verdict was good_fit


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    scorer: ConversionScorer | None  # None: below the data gate
    card: dict[str, Any]


def train_from_history(history: LeadHistory, params: LeadParams, seed: int = 0) -> TrainingOutcome:
    batch = history.batch
    first_contact = _first_contact(batch)
    label, decided = conversion_labels(
        first_contact,
        history.first_paid,
        history.verdict_at,
        history.verdict_won,
        batch.now,
        params.conversion_window_days,
    )
    won, lost = int((label == WON).sum()), int((label == LOST).sum())
    card: dict[str, Any] = {
        "won": won,
        "lost": lost,
        "verdicts": int((~np.isnan(history.verdict_at)).sum()),
        "window_days": params.conversion_window_days,
        "min_won": MIN_WON,
        "min_lost": MIN_LOST,
    }
    if won < MIN_WON or lost < MIN_LOST:
        return TrainingOutcome(None, card)
    examples = np.flatnonzero(label >= 0)
    sensitive = tuple(params.learn_from_sensitive)
    columns = {name: values[examples] for name, values in conversion_columns(batch, decided, sensitive).items()}
    target = label[examples]
    validation = cross_validate(columns, target, categorical=CATEGORICAL, seed=seed)
    model = fit_conversion(columns, target, categorical=CATEGORICAL, seed=seed)
    won_orders = history.average_order_minor[examples][target == WON]
    order_value = float(np.nanmean(won_orders)) if (~np.isnan(won_orders)).any() else 0.0
    card |= {
        "fields": model.fields,
        "sensitive_fields": list(sensitive),
        "cv_auc": round(validation.auc, 4),
        "cv_brier": round(validation.brier, 4),
        "base_rate": round(validation.base_rate, 4),
        "calibration": [asdict(band) for band in validation.calibration],
        "order_value_minor": round(order_value),
    }
    return TrainingOutcome(ConversionScorer(model, sensitive, order_value), card)


def _first_contact(batch: CustomerBatch) -> FloatArray:
    """When each customer was first known: created, or its earliest touch if that came before."""
    first = batch.created_at.copy()
    np.minimum.at(first, batch.touch_row, batch.touch_at)
    return first
