"""LightGBM and XGBoost pruning callbacks (issue 19.3): a real booster reports its validation
metric each round to the trial, and a trial with hopeless settings is pruned mid-training."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tansaku as tk
from tests.integration.conftest import PrunedRun

ROUNDS = 12


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 4))
    y = x[:, 0] * 2.0 - x[:, 1] + 0.1 * rng.normal(size=300)
    return x[:200], y[:200], x[200:], y[200:]


def test_lightgbm_callback_reports_each_round_and_prunes_a_bad_trial(
    pruned_third_trial: PrunedRun,
) -> None:
    lgb = pytest.importorskip("lightgbm")
    from tansaku.integration.lightgbm import LightGBMPruningCallback

    xt, yt, xv, yv = _data()

    def objective(trial: tk.Trial) -> float:
        train = lgb.Dataset(xt, yt)
        valid = lgb.Dataset(xv, yv, reference=train)
        booster = lgb.train(
            {
                "objective": "regression",
                "learning_rate": trial.params["lr"],
                "verbose": -1,
                "num_threads": 1,
                "min_data_in_leaf": 5,
            },
            train,
            num_boost_round=ROUNDS,
            valid_sets=[train, valid],
            valid_names=["training", "valid"],
            callbacks=[LightGBMPruningCallback(trial, "l2")],  # first set that is not training
        )
        return float(np.mean((booster.predict(xv) - yv) ** 2))

    study = pruned_third_trial(objective, good=0.3, bad=1e-4, steps=ROUNDS)
    good = study.get_trials(with_intermediate=True)[0]
    # the last report is the validation l2, which is the returned value
    assert good.intermediate[ROUNDS - 1] == pytest.approx(good.value, rel=1e-6)


def test_lightgbm_callback_names_what_is_evaluated_for_an_unknown_metric() -> None:
    lgb = pytest.importorskip("lightgbm")
    from tansaku.integration.lightgbm import LightGBMPruningCallback

    xt, yt, xv, yv = _data()
    trial = tk.Trial(number=0, params={})
    train = lgb.Dataset(xt, yt)
    with pytest.raises(tk.ConfigError, match=r"metric: .*'valid auc'.*valid l2"):
        lgb.train(
            {"objective": "regression", "verbose": -1, "num_threads": 1},
            train,
            num_boost_round=2,
            valid_sets=[lgb.Dataset(xv, yv, reference=train)],
            valid_names=["valid"],
            callbacks=[LightGBMPruningCallback(trial, "auc", valid_name="valid")],
        )


def test_xgboost_callback_reports_each_round_and_prunes_a_bad_trial(
    pruned_third_trial: PrunedRun,
) -> None:
    xgb = pytest.importorskip("xgboost")
    from tansaku.integration.xgboost import XGBoostPruningCallback

    xt, yt, xv, yv = _data()

    def objective(trial: tk.Trial) -> float:
        dtrain, dvalid = xgb.DMatrix(xt, yt), xgb.DMatrix(xv, yv)
        booster = xgb.train(
            {"eta": trial.params["lr"], "eval_metric": "rmse", "nthread": 1, "max_depth": 3},
            dtrain,
            num_boost_round=ROUNDS,
            evals=[(dtrain, "train"), (dvalid, "valid")],
            callbacks=[XGBoostPruningCallback(trial, "valid-rmse")],
            verbose_eval=False,
        )
        return float(np.sqrt(np.mean((booster.predict(dvalid) - yv) ** 2)))

    study = pruned_third_trial(objective, good=0.3, bad=1e-4, steps=ROUNDS)
    good = study.get_trials(with_intermediate=True)[0]
    assert good.intermediate[ROUNDS - 1] == pytest.approx(good.value, rel=1e-4)


def test_xgboost_callback_with_the_sklearn_api_and_an_unknown_key() -> None:
    xgb = pytest.importorskip("xgboost")
    from tansaku.integration.xgboost import XGBoostPruningCallback

    xt, yt, xv, yv = _data()
    rec = _Recorder()
    trial = tk.Trial(number=0, params={}, channel=rec)
    model = xgb.XGBRegressor(
        n_estimators=3, n_jobs=1, callbacks=[XGBoostPruningCallback(trial, "validation_0-rmse")]
    )
    model.fit(xt, yt, eval_set=[(xv, yv)], verbose=False)
    assert [s for s, _ in rec.seen] == [0, 1, 2]
    bad = xgb.XGBRegressor(
        n_estimators=2, n_jobs=1, callbacks=[XGBoostPruningCallback(trial, "valid-auc")]
    )
    with pytest.raises(tk.ConfigError, match=r"observation_key: .*'valid-auc'.*validation_0-rmse"):
        bad.fit(xt, yt, eval_set=[(xv, yv)], verbose=False)


class _Recorder:
    """A trial channel that keeps what the callback reports (and never prunes)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []

    def report(self, trial_id: int, step: int, value: float) -> None:
        self.seen.append((step, value))

    def should_prune(self, trial_id: int) -> bool:
        return False

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        pass


def test_cross_validation_reports_the_fold_mean() -> None:
    lgb = pytest.importorskip("lightgbm")
    xgb = pytest.importorskip("xgboost")
    from tansaku.integration.lightgbm import LightGBMPruningCallback
    from tansaku.integration.xgboost import XGBoostPruningCallback

    xt, yt, _, _ = _data()
    rec = _Recorder()
    trial = tk.Trial(number=0, params={}, channel=rec)
    out = lgb.cv(
        {"objective": "regression", "verbose": -1, "num_threads": 1},
        lgb.Dataset(xt, yt),
        num_boost_round=3,
        nfold=2,
        stratified=False,
        callbacks=[LightGBMPruningCallback(trial, "l2")],
    )
    assert rec.seen == [(i, pytest.approx(v)) for i, v in enumerate(out["valid l2-mean"])]
    rec.seen.clear()
    res = xgb.cv(
        {"nthread": 1, "eval_metric": "rmse"},
        xgb.DMatrix(xt, yt),
        num_boost_round=3,
        nfold=2,
        as_pandas=False,
        callbacks=[XGBoostPruningCallback(trial, "test-rmse")],
    )
    assert rec.seen == [(i, pytest.approx(v)) for i, v in enumerate(res["test-rmse-mean"])]
