"""Conversion probability: a calibrated classifier of whether a lead becomes a paying customer, trained on
any tabular data with one call.

    model = fit_conversion(columns, won, categorical={"city", "legal_type"})
    model.predict_proba(columns)    # probability of won, one per row
    model.explain(columns, top=3)   # per row, the factors for and against

``columns`` maps a name to one array per column, all of the same length: numeric columns as float arrays
with NaN for a missing value, categorical ones as object arrays of strings (None or "" for missing).
``won`` is 0/1. The pipeline: missing categories are a category of their own and rare ones are grouped;
missing numbers go to whichever side of each split fits them best; gradient-boosted trees weighted for
class imbalance; then isotonic calibration by cross-validation, so that a predicted 30% converts about
30% of the time.

Explanations are what-if: a factor's weight for a row is how much the probability moves when that one
column is set to the training data's typical value (median or most frequent), so they read in the same
unit as the probability and need nothing specific to the learner.

A model is stored as a skops file (``model_to_bytes`` / ``model_from_bytes``), never as a pickle: loading
one builds only objects of types known in advance, so bytes that someone else wrote cannot run code.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from skops.io.exceptions import UntrustedTypesFoundException
from threadpoolctl import threadpool_limits

Columns = Mapping[str, npt.NDArray[Any]]

# Categories seen fewer times than this in training are one "rare" category.
MIN_CATEGORY_COUNT = 10

# What a stored model may be made of besides what skops trusts by default (scikit-learn's estimators,
# builtins, numpy arrays): the parts of this pipeline skops leaves to the caller to vouch for. A file that
# names anything else (os.system, say) is refused before a single object of it is built.
TRUSTED_TYPES = (
    "functools.partial",  # scikit-learn wraps check_array in one; the function inside is checked on its own
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)
MODEL_STATE_KEYS = frozenset({"pipeline", "numeric", "categorical", "typical"})


def one_thread() -> threadpool_limits:
    """The trees' OpenMP threads spin while they wait for each other: on a host whose other cores are
    busy (more workers, the API, the database) the model tests took 413 s with a thread per core and 4 s
    on one (2 shared cores). Our models are small; one thread each, and the host's cores go to the
    processes it runs."""
    return threadpool_limits(limits=1, user_api="openmp")


class UntrustedModel(ValueError):
    """Stored bytes that are not a conversion model this code loads without running code it does not know."""


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    value: object  # the row's value of the column (None when missing)
    effect: float  # how much this value moves the probability (positive: for, negative: against)


@dataclass(frozen=True, slots=True)
class Explanation:
    probability: float
    for_: tuple[Factor, ...]
    against: tuple[Factor, ...]


class ConversionModel:
    def __init__(self, pipeline: Pipeline, numeric: list[str], categorical: list[str], typical: dict[str, object]):
        self._pipeline = pipeline
        self.numeric = numeric
        self.categorical = categorical
        self._typical = typical

    @property
    def fields(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def predict_proba(self, columns: Columns) -> npt.NDArray[np.float64]:
        with one_thread():
            return np.asarray(self._pipeline.predict_proba(self._frame(columns))[:, 1], dtype=np.float64)

    def effects(self, columns: Columns) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
        """The probabilities, and per field how much each row's value moves its probability."""
        base = self.predict_proba(columns)
        effects = {}
        for name in self.fields:
            typical = dict(columns)
            typical[name] = np.full(len(base), self._typical[name], dtype=np.asarray(columns[name]).dtype)
            effects[name] = base - self.predict_proba(typical)
        return base, effects

    def explain(self, columns: Columns, top: int = 3) -> list[Explanation]:
        base, effects = self.effects(columns)
        explanations = []
        for i, probability in enumerate(base):
            ranked = sorted(self.fields, key=lambda name: -abs(effects[name][i]))
            factors = [Factor(name, _shown(columns[name][i]), float(effects[name][i])) for name in ranked]
            explanations.append(
                Explanation(
                    float(probability),
                    tuple(f for f in factors if f.effect > 0)[:top],
                    tuple(f for f in factors if f.effect < 0)[:top],
                )
            )
        return explanations

    def _frame(self, columns: Columns) -> npt.NDArray[np.object_]:
        return _frame(columns, self.numeric, self.categorical)

    def state(self) -> dict[str, Any]:
        """The fitted pipeline and the plain lists and values that make this model."""
        return {
            "pipeline": self._pipeline,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "typical": dict(self._typical),
        }

    @classmethod
    def from_state(cls, state: object) -> ConversionModel:
        if not isinstance(state, dict) or set(state) != MODEL_STATE_KEYS or not isinstance(state["pipeline"], Pipeline):
            raise UntrustedModel("the stored model is not a conversion model")
        return cls(state["pipeline"], list(state["numeric"]), list(state["categorical"]), dict(state["typical"]))


def model_to_bytes(state: dict[str, Any]) -> bytes:
    """A model's state (``ConversionModel.state`` and plain values beside it) as a skops file."""
    data: bytes = sio.dumps(state, compression=zipfile.ZIP_DEFLATED)
    # Refused here rather than by every worker that would load it.
    unknown = _untrusted(data)
    if unknown:
        raise UntrustedModel(f"the model holds types its loader does not trust: {', '.join(unknown)}")
    return data


def model_from_bytes(data: bytes) -> dict[str, Any]:
    """The state ``model_to_bytes`` stored; ``UntrustedModel`` for anything else, before any of it is built."""
    try:
        state = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException:
        raise UntrustedModel(
            f"the stored model names types that are not trusted: {', '.join(_untrusted(data))}"
        ) from None
    except zipfile.BadZipFile:
        raise UntrustedModel("the stored model is not a skops file (a pickle is never loaded)") from None
    except Exception as error:  # whatever else the parser makes of bytes that are no file of ours
        raise UntrustedModel(f"the stored model cannot be read: {error!r}") from None
    if not isinstance(state, dict):
        raise UntrustedModel("the stored model is not a conversion model")
    return state


def _untrusted(data: bytes) -> list[str]:
    return sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))


def fit_conversion(
    columns: Columns, won: npt.NDArray[Any], *, categorical: Collection[str], seed: int = 0
) -> ConversionModel:
    names = list(columns)
    cats = [name for name in names if name in categorical]
    # A number nobody entered (every value missing) tells nothing and cannot be binned: left out.
    nums = [name for name in names if name not in categorical and not np.isnan(np.asarray(columns[name], float)).all()]
    target = np.asarray(won).astype(np.int64)
    if set(np.unique(target)) != {0, 1}:
        raise ValueError("won must hold both 0 and 1")
    features = ColumnTransformer(
        [
            ("numeric", "passthrough", list(range(len(nums)))),  # the trees split on missing values themselves
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True),
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=-1,
                        encoded_missing_value=-1,
                        min_frequency=MIN_CATEGORY_COUNT,
                    ),
                ),
                list(range(len(nums), len(nums) + len(cats))),
            ),
        ]
    )
    categorical_mask = [False] * len(nums) + [True] * len(cats)
    trees = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        early_stopping=True,
        class_weight="balanced",
        categorical_features=categorical_mask if cats else None,
        random_state=seed,
    )
    calibrated = CalibratedClassifierCV(trees, method="isotonic", cv=5)
    pipeline = make_pipeline(features, calibrated)
    frame = _frame(columns, nums, cats)
    with one_thread():
        pipeline.fit(frame, target)
    return ConversionModel(pipeline, nums, cats, _typical_values(columns, nums, cats))


def _frame(columns: Columns, numeric: list[str], categorical: list[str]) -> npt.NDArray[np.object_]:
    numbers = [np.asarray(columns[name], dtype=np.float64) for name in numeric]
    labels = [np.asarray([_category(v) for v in columns[name]], dtype=object) for name in categorical]
    return np.column_stack([*numbers, *labels]) if numbers or labels else np.empty((0, 0), dtype=object)


def _category(value: object) -> object:
    return np.nan if value is None or value == "" or (isinstance(value, float) and np.isnan(value)) else str(value)


def _typical_values(columns: Columns, numeric: list[str], categorical: list[str]) -> dict[str, object]:
    typical: dict[str, object] = {}
    for name in numeric:
        values = np.asarray(columns[name], dtype=np.float64)
        typical[name] = float(np.nanmedian(values)) if (~np.isnan(values)).any() else np.nan
    for name in categorical:
        present = [str(v) for v in columns[name] if _category(v) is not np.nan]
        typical[name] = max(set(present), key=present.count) if present else None
    return typical


def _shown(value: object) -> object:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    return value if value not in (None, "") else None


FOLDS = 5


@dataclass(frozen=True, slots=True)
class CalibrationBand:
    low: float  # predicted probability from (inclusive)
    high: float  # to (exclusive; the last band includes 1)
    count: int
    predicted: float  # mean predicted probability in the band
    observed: float  # share of the band's examples that were won


@dataclass(frozen=True, slots=True)
class Validation:
    auc: float
    brier: float
    base_rate: float
    calibration: tuple[CalibrationBand, ...]


def cross_validate(
    columns: Columns, won: npt.NDArray[Any], *, categorical: Collection[str], seed: int = 0
) -> Validation:
    """Out-of-fold AUC, Brier score and calibration table of ``fit_conversion`` on these examples."""
    target = np.asarray(won).astype(np.int64)
    predicted = np.zeros(len(target))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(len(target)), target):
        model = fit_conversion(
            {name: np.asarray(values)[train] for name, values in columns.items()},
            target[train],
            categorical=categorical,
            seed=seed,
        )
        predicted[test] = model.predict_proba({name: np.asarray(values)[test] for name, values in columns.items()})
    return Validation(
        auc=float(roc_auc_score(target, predicted)),
        brier=float(brier_score_loss(target, predicted)),
        base_rate=float(target.mean()),
        calibration=calibration_bands(predicted, target),
    )


def calibration_bands(predicted: npt.NDArray[np.float64], won: npt.NDArray[np.int64]) -> tuple[CalibrationBand, ...]:
    """Predicted against observed by bands of 10 points of probability (empty bands left out)."""
    band = np.minimum((predicted * 10).astype(np.int64), 9)
    bands = []
    for b in np.unique(band):
        inside = band == b
        bands.append(
            CalibrationBand(
                low=b / 10,
                high=(b + 1) / 10,
                count=int(inside.sum()),
                predicted=float(predicted[inside].mean()),
                observed=float(won[inside].mean()),
            )
        )
    return tuple(bands)
