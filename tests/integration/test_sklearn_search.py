"""``tansaku.integration.sklearn.TansakuSearchCV`` (issue 19.3): a real scikit-learn search whose
candidates a tansaku study proposes, with scikit-learn's own result shape and estimator checks."""

from __future__ import annotations

import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris
from sklearn.linear_model import Ridge
from sklearn.model_selection import RandomizedSearchCV
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import estimator_checks as checks

import tansaku as tk
from tansaku.integration.sklearn import TansakuSearchCV

# trees, not an lbfgs model: fast on a loaded machine (no BLAS threads)
SPACE = {"max_depth": tk.Int(1, 6), "criterion": tk.Categorical(["gini", "entropy"])}


def _iris() -> tuple[np.ndarray, np.ndarray]:
    return load_iris(return_X_y=True)


def test_fit_gives_sklearns_result_shape_and_a_refit_best_estimator() -> None:
    x, y = _iris()
    with joblib.parallel_config(backend="threading"):  # n_jobs=2 without starting processes
        search = TansakuSearchCV(
            DecisionTreeClassifier(random_state=0),
            SPACE,
            n_trials=6,
            cv=3,
            n_jobs=2,
            random_state=0,
            return_train_score=True,
        ).fit(x, y)
    # the same keys as scikit-learn's own randomized search with the same options
    ref = RandomizedSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, 2], "criterion": ["gini", "entropy"]},
        n_iter=2,
        cv=3,
        random_state=0,
        return_train_score=True,
    ).fit(x, y)
    assert sorted(search.cv_results_) == sorted(ref.cv_results_)
    res = search.cv_results_
    assert len(res["params"]) == 6 and res["mean_test_score"].shape == (6,)
    best = int(np.argmax(res["mean_test_score"]))
    assert search.best_index_ == best
    assert search.best_params_ == res["params"][best]
    assert search.best_score_ == res["mean_test_score"][best]
    assert res["rank_test_score"][best] == 1
    # the candidates came from the tansaku study, which was told their mean test scores
    assert len(search.trials_) == 6
    assert [t.params for t in search.trials_] == res["params"]
    assert [t.value for t in search.trials_] == pytest.approx(list(res["mean_test_score"]))
    assert len({tuple(p.values()) for p in res["params"]}) >= 5  # mostly distinct points
    # refit: the best estimator is fitted on all the data with the best parameters
    assert search.best_estimator_.get_params()["max_depth"] == search.best_params_["max_depth"]
    assert search.predict(x).shape == y.shape
    assert search.score(x, y) == pytest.approx(search.best_estimator_.score(x, y))
    assert search.predict_proba(x).shape == (len(y), 3)


def test_several_scorers_with_refit_naming_one_and_a_sampler_by_name() -> None:
    x, y = _iris()
    search = TansakuSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": tk.Int(1, 6)},
        n_trials=4,
        cv=3,
        sampler="nelder-mead",
        random_state=1,
        scoring={"acc": "accuracy", "f1": "f1_macro"},
        refit="f1",
    ).fit(x, y)
    res = search.cv_results_
    assert "mean_test_acc" in res and "rank_test_f1" in res
    assert [t.value for t in search.trials_] == pytest.approx(list(res["mean_test_f1"]))
    assert search.best_score_ == max(res["mean_test_f1"])
    with pytest.raises(tk.ConfigError, match="refit"):
        TansakuSearchCV(
            DecisionTreeClassifier(),
            {"max_depth": tk.Int(1, 3)},
            n_trials=1,
            cv=2,
            scoring={"acc": "accuracy", "f1": "f1_macro"},
            refit=False,
        ).fit(x, y)


def test_a_stored_study_resumes_and_bad_distributions_are_refused(tmp_path: Path) -> None:
    x, y = _iris()
    url = f"sqlite:///{tmp_path / 'search.db'}"
    kw = dict(n_trials=2, cv=2, storage=url, study_name="iris", random_state=0)
    TansakuSearchCV(Ridge(), {"alpha": tk.Float(1e-3, 1.0, log=True)}, **kw).fit(x, y)
    second = TansakuSearchCV(Ridge(), {"alpha": tk.Float(1e-3, 1.0, log=True)}, **kw).fit(x, y)
    assert len(second.trials_) == 4  # resumed: 2 more
    assert len(tk.load_study("iris", storage=url).trials) == 4
    with pytest.raises(tk.ConfigError, match=r"param_distributions: 'alpha' must be a tansaku"):
        TansakuSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, n_trials=1, cv=2).fit(x, y)


def test_a_candidate_whose_every_split_fails_is_a_failed_trial() -> None:
    x, y = _iris()
    space = {"max_depth": tk.Int(1, 4), "criterion": tk.Categorical(["gini", "no-such"])}
    for n_jobs in (1, 2):  # alone in its round (scikit-learn refuses the round), or beside others
        search = TansakuSearchCV(
            DecisionTreeClassifier(), space, n_trials=6, cv=2, random_state=3, n_jobs=n_jobs
        )
        with joblib.parallel_config(backend="threading"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's warning about the failed fits
            search.fit(x, y)
        states = {t.params["criterion"]: t.state for t in search.trials_}
        assert states == {"gini": tk.TrialState.COMPLETE, "no-such": tk.TrialState.FAILED}
        assert search.best_params_["criterion"] == "gini"
        assert len(search.trials_) == 6
    with pytest.raises(ValueError, match="fits failed"):  # every candidate failed
        TansakuSearchCV(
            DecisionTreeClassifier(),
            {"criterion": tk.Categorical(["no-such", "nor-this"])},
            n_trials=2,
            cv=2,
        ).fit(x, y)


@pytest.mark.parametrize(
    "check",
    [
        checks.check_get_params_invariance,
        checks.check_set_params,
        checks.check_estimators_pickle,
        checks.check_fit_score_takes_y,
        checks.check_n_features_in,
        checks.check_fit2d_predict1d,
        checks.check_estimators_empty_data_messages,
        checks.check_dict_unchanged,
        checks.check_regressors_train,
    ],
    ids=lambda c: c.__name__,
)
def test_passes_sklearns_estimator_checks(check: object) -> None:
    est = TansakuSearchCV(
        Ridge(), {"alpha": tk.Float(1e-3, 1.0, log=True)}, n_trials=2, cv=2, random_state=0
    )
    check(type(est).__name__, est)  # type: ignore[operator]
