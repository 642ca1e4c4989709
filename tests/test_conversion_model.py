"""fit_conversion on synthetic leads whose truth is known: it ranks and calibrates, copes with missing and
unseen values, and explains a row by the columns that really drive it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from scoring.conversion import fit_conversion


def leads(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    columns, won, _ = leads_with_truth(n, seed)
    return columns, won


def leads_with_truth(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    visits = rng.poisson(2, n).astype(np.float64)
    noise = rng.normal(size=n)
    city = rng.choice(np.array(["Hà Nội", "Huế", "Đà Nẵng", "上海"], dtype=object), n)
    logit = -3 + 0.9 * visits + 1.5 * (city == "Hà Nội")
    won = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    visits[rng.random(n) < 0.1] = np.nan  # some not recorded
    city[rng.random(n) < 0.05] = None
    return {"visits": visits, "noise": noise, "city": city}, won, 1 / (1 + np.exp(-logit))


def test_it_ranks_and_calibrates_held_out_leads() -> None:
    train, won = leads(3000, seed=1)
    test, truth, oracle = leads_with_truth(2000, seed=2)
    model = fit_conversion(train, won, categorical={"city"})
    predicted = model.predict_proba(test)
    assert predicted.shape == (2000,) and ((predicted >= 0) & (predicted <= 1)).all()
    # Close to the best any model can do: the true probabilities (which also see the unrecorded visits).
    assert roc_auc_score(truth, predicted) > roc_auc_score(truth, oracle) - 0.04
    assert abs(predicted.mean() - truth.mean()) < 0.03  # calibrated: as many expected as happen
    for low, high in ((0.0, 0.2), (0.5, 1.0)):  # and within bands
        band = (predicted >= low) & (predicted < high)
        assert abs(predicted[band].mean() - truth[band].mean()) < 0.08


def test_unseen_categories_and_missing_values_still_get_a_probability() -> None:
    train, won = leads(1500, seed=3)
    model = fit_conversion(train, won, categorical={"city"})
    odd = {
        "visits": np.array([np.nan, 3.0]),
        "noise": np.array([0.0, np.nan]),
        "city": np.array(["Paris", None], dtype=object),
    }
    assert np.isfinite(model.predict_proba(odd)).all()


def test_a_row_is_explained_by_the_columns_that_drive_it() -> None:
    train, won = leads(3000, seed=4)
    model = fit_conversion(train, won, categorical={"city"})
    rows = {
        "visits": np.array([7.0, 0.0]),
        "noise": np.array([0.1, 0.1]),
        "city": np.array(["Hà Nội", "Huế"], dtype=object),
    }
    keen, cold = model.explain(rows, top=3)
    assert keen.probability > 0.8 > 0.2 > cold.probability
    assert {f.name for f in keen.for_[:2]} == {"visits", "city"} and keen.for_[0].effect > 0
    assert cold.against and cold.against[0].name == "visits" and cold.against[0].value == 0.0


def test_won_must_hold_both_outcomes() -> None:
    train, won = leads(200, seed=5)
    with pytest.raises(ValueError):
        fit_conversion(train, np.ones_like(won), categorical={"city"})


def test_a_numeric_column_nobody_filled_in_is_left_out() -> None:
    rng = np.random.default_rng(0)
    signal = rng.normal(size=400)
    won = (signal + rng.normal(scale=0.5, size=400) > 0).astype(np.int64)
    model = fit_conversion({"signal": signal, "age": np.full(400, np.nan)}, won, categorical=())
    assert model.fields == ["signal"]
    assert model.predict_proba({"signal": np.array([2.0, -2.0]), "age": np.full(2, np.nan)}).tolist()[0] > 0.8
