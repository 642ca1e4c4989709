"""What the conversion model learns from and predicts on, taken from a scoring batch as of a moment.

A lead's example is its profile and its recent engagement as they stood at the moment its outcome was
decided: the first paid order (won), the end of the window after first contact without one (lost), or
the moment sales gave a verdict. Predictions read the same columns as of now. Engagement is the touches
of the last ``RECENT_DAYS`` before that moment, the same span for every example: counting from first
contact would give lost leads (a whole window) more touches than won ones (cut short by their purchase)
and teach the model the opposite of the truth. For the same reason there is no "days since the last touch":
a lost lead is decided when its window ends, mostly gone quiet by then, so that column would only learn
how old a lead is. Nothing about orders is a column: it is the outcome.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from scoring.batch import DAY_SECONDS, CustomerBatch
from scoring.result import FloatArray, IntArray

if TYPE_CHECKING:  # scikit-learn is loaded only where a model is trained or applied
    from scoring.conversion import ConversionModel

SensitiveField = Literal["age", "gender", "income", "personality"]
SENSITIVE_FIELDS: tuple[SensitiveField, ...] = ("age", "gender", "income", "personality")
RECENT_DAYS = 30
TOUCH_KINDS = (
    "visit",
    "website_visit",
    "call",
    "message",
    "email_open",
    "quote",
    "meeting",
    "complaint",
    "unsubscribe",
)
CATEGORICAL = frozenset({"country", "city", "legal_type", "gender", "income", "personality"})

WON, LOST, UNLABELLED = 1, 0, -1
# The data gate: fewer won or lost examples than this and no model is trained (five folds of
# cross-validation, each calibrated by five more, need a handful of each in every part).
MIN_WON = 30
MIN_LOST = 30


def conversion_columns(
    batch: CustomerBatch, at: FloatArray, sensitive: Collection[str] = ()
) -> dict[str, npt.NDArray[Any]]:
    """One column per field, each customer as of its moment ``at`` (epoch seconds). ``sensitive`` names
    the sensitive fields an admin allowed; the others are left out."""
    n = len(batch)
    moment = at[batch.touch_row]
    before = batch.touch_at < moment
    recent = before & (batch.touch_at >= moment - RECENT_DAYS * DAY_SECONDS)
    columns: dict[str, npt.NDArray[Any]] = {
        f"{kind}_{RECENT_DAYS}d": np.bincount(batch.touch_row[recent & (batch.touch_kind == kind)], minlength=n).astype(
            np.float64
        )
        for kind in TOUCH_KINDS
    }
    columns["interests"] = np.bincount(batch.interest_row, minlength=n).astype(np.float64)
    columns["country"] = _labels(batch.country)
    columns["city"] = _labels(batch.city)
    columns["legal_type"] = _labels(batch.legal_type)
    if "age" in sensitive:
        years = 1970 + at / (365.2425 * DAY_SECONDS)
        columns["age"] = np.where(batch.birth_year > 0, np.floor(years - batch.birth_year), np.nan)
    if "gender" in sensitive:
        columns["gender"] = _labels(batch.gender)
    if "income" in sensitive:
        columns["income"] = _labels(batch.income_band)
    if "personality" in sensitive:
        columns["personality"] = np.asarray([str(v) if v > 0 else None for v in batch.personality_type], dtype=object)
    return columns


def conversion_labels(
    first_contact: FloatArray,
    first_paid: FloatArray,
    verdict_at: FloatArray,
    verdict_won: npt.NDArray[np.bool_],
    now: float,
    window_days: int,
) -> tuple[IntArray, FloatArray]:
    """Per customer, WON, LOST or UNLABELLED, and the moment it was decided (NaN when unlabelled).

    A sales verdict (``verdict_at`` not NaN) decides by itself. Otherwise a first paid order within the
    window after first contact is won; none by the end of the window is lost; a lead still inside its
    window is unlabelled, and so is a customer that had paid before it was first contacted (a buyer
    brought in from elsewhere was never a lead)."""
    window_end = first_contact + window_days * DAY_SECONDS
    paid = ~np.isnan(first_paid)
    bought_as_lead = paid & (first_paid > first_contact)
    won_in_window = bought_as_lead & (first_paid <= window_end)
    lost_by_window = ~won_in_window & (window_end <= now) & ~(paid & ~bought_as_lead)
    has_verdict = ~np.isnan(verdict_at)
    label = np.select(
        [has_verdict & verdict_won, has_verdict, won_in_window, lost_by_window], [WON, LOST, WON, LOST], UNLABELLED
    ).astype(np.int64)
    decided = np.select(
        [has_verdict, won_in_window, lost_by_window], [verdict_at, first_paid, window_end], np.nan
    ).astype(np.float64)
    return label, decided


def _labels(values: npt.NDArray[Any]) -> npt.NDArray[np.object_]:
    return np.asarray([value or None for value in values], dtype=object)


@dataclass(frozen=True, slots=True)
class ConversionScorer:
    """A workspace's trained conversion model as a rescore applies it."""

    model: ConversionModel
    sensitive: tuple[str, ...]  # the sensitive fields it was trained with
    order_value_minor: float  # mean first paid order in training: what a lead that has not bought is worth

    def to_bytes(self) -> bytes:
        """The scorer as stored: a skops file, which loads without running anything the file names."""
        from scoring.conversion import model_to_bytes

        return model_to_bytes(
            {
                "model": self.model.state(),
                "sensitive": list(self.sensitive),
                "order_value_minor": self.order_value_minor,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ConversionScorer:
        """What ``to_bytes`` stored; ``scoring.conversion.UntrustedModel`` for any other bytes."""
        from scoring.conversion import ConversionModel, UntrustedModel, model_from_bytes

        state = model_from_bytes(data)
        if set(state) != {"model", "sensitive", "order_value_minor"}:
            raise UntrustedModel("the stored model is not a conversion model")
        return cls(
            ConversionModel.from_state(state["model"]),
            tuple(str(name) for name in state["sensitive"]),
            float(state["order_value_minor"]),
        )

    def facts(self, batch: CustomerBatch) -> dict[str, npt.NDArray[Any]]:
        """Per customer: the probability of converting, what a call is worth (probability x expected order
        value: the customer's own average paid order, or a first order's for a lead) and the fields that
        move the probability most, for and against."""
        probability, effects = self.model.effects(
            conversion_columns(batch, np.full(len(batch), batch.now), self.sensitive)
        )
        probability = np.round(probability, 3)  # as shown; the call value is computed from what is shown
        own_average = batch.net_spend / np.maximum(batch.paid_order_count, 1)
        order_value = np.where(batch.paid_order_count > 0, own_average, self.order_value_minor)
        facts: dict[str, npt.NDArray[Any]] = {
            "probability": probability,
            "call_value_minor": np.rint(probability * order_value).astype(np.int64),
        }
        names = np.asarray(list(effects), dtype=object)
        table = np.vstack(list(effects.values())) if effects else np.zeros((0, len(batch)))
        for side, sign in (("for", 1.0), ("against", -1.0)):
            signed = table * sign
            order = np.argsort(-signed, axis=0, kind="stable")
            for rank in range(min(3, len(names))):
                index = order[rank]
                moves = signed[index, np.arange(len(batch))] > 0.005  # under half a point: no reason
                facts[f"{side}{rank + 1}"] = np.where(moves, names[index], "")
        return facts
