"""scikit-learn: :class:`TansakuSearchCV`, a drop-in for ``RandomizedSearchCV`` whose candidates a
tansaku sampler proposes (tpe, gp, nelder-mead, ... ) from tansaku space objects.

.. code-block:: python

    import tansaku as tk
    from sklearn.svm import SVC
    from tansaku.integration.sklearn import TansakuSearchCV

    search = TansakuSearchCV(
        SVC(),
        {"C": tk.Float(1e-2, 1e2, log=True), "kernel": tk.Categorical(["rbf", "linear"])},
        n_trials=30, sampler="tpe", cv=5, n_jobs=4, random_state=0,
    ).fit(X, y)
    search.best_params_, search.best_score_, search.predict(X_test)

It is a scikit-learn ``BaseSearchCV``: ``fit`` / ``predict`` / ``score`` / ``best_params_`` /
``best_estimator_`` / ``cv_results_`` (the same keys and shapes as ``RandomizedSearchCV``'s),
``scoring`` (one scorer or several with ``refit`` naming the one to optimise), ``cv``, ``refit``,
``error_score`` and ``return_train_score`` mean what they mean there.  The search itself is a
tansaku study (maximising the mean cross-validated score of the ``refit`` metric):

* ``n_jobs`` trials run at once: each round asks the study for ``n_jobs`` proposals (a
  pending-aware sampler such as nelder-mead or gp spreads them) and scikit-learn evaluates them,
  every fold of every candidate, on ``n_jobs`` joblib workers; then the study is told the scores.
* ``storage`` / ``study_name`` keep the study (``"sqlite:///search.db"``); a second ``fit`` with
  the same ones resumes it and adds ``n_trials`` more.  Default: in memory, one per ``fit``.
* ``random_state`` seeds the sampler; ``trials_`` holds the study's finished trials (each one's
  mean test score is its value; a candidate every split of which failed is a FAILED trial).
  scikit-learn refuses a call in which every fit fails, so a candidate that fails on every split
  in a round where no other candidate succeeds is a FAILED trial but not a row of
  ``cv_results_``; when every candidate failed, ``fit`` raises scikit-learn's error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from tansaku._errors import ConfigError
from tansaku.integration._common import require

require("sklearn", extra="sklearn", user="tansaku.integration.sklearn", package="scikit-learn")

import numpy as np  # noqa: E402
from joblib import effective_n_jobs  # noqa: E402
from sklearn.model_selection._search import BaseSearchCV  # noqa: E402

__all__ = ["TansakuSearchCV"]


class TansakuSearchCV(BaseSearchCV):  # type: ignore[misc]
    """Search ``param_distributions`` (a mapping of estimator parameter names to
    :class:`tansaku.Float` / :class:`tansaku.Int` / :class:`tansaku.Categorical`, or a
    :class:`tansaku.Space`) with a tansaku sampler, ``n_trials`` candidates in all; see the module
    docstring.  The other parameters are those of ``sklearn.model_selection.RandomizedSearchCV``
    (``n_trials`` for ``n_iter``), plus ``sampler`` (a tansaku sampler name or
    ``{"name": ..., **options}``; default tansaku's), ``storage`` and ``study_name``."""

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_trials: int = 10,
        sampler: str | Mapping[str, Any] | None = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool | str | Callable[..., Any] = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        random_state: int | None = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        storage: str | None = None,
        study_name: str | None = None,
    ) -> None:
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.sampler = sampler
        self.random_state = random_state
        self.storage = storage
        self.study_name = study_name
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    # ------------------------------------------------------------------ the search
    def _space(self) -> Any:
        from tansaku._space import Distribution, Space

        given = self.param_distributions
        if isinstance(given, Space):
            return given
        if not isinstance(given, Mapping) or not given:
            raise ConfigError(
                "must be a non-empty mapping of parameter names to tansaku.Float / Int / "
                f"Categorical (or a tansaku.Space), got {type(given).__name__}",
                field="param_distributions",
            )
        for name, dist in given.items():
            if not isinstance(dist, Distribution):
                raise ConfigError(
                    f"{name!r} must be a tansaku.Float, Int or Categorical, got "
                    f"{type(dist).__name__} (e.g. tk.Float(1e-3, 1.0, log=True), "
                    "tk.Categorical([...]) for a list)",
                    field="param_distributions",
                )
        return Space(dict(given))

    def _open_study(self, workers: int) -> Any:
        from tansaku._check import check_number
        from tansaku.study._study import create_study

        check_number(self.n_trials, "n_trials", integer=True, low=0)
        return create_study(
            self._space(),
            sampler=self.sampler,
            storage=self.storage,
            name=self.study_name,
            direction="maximize",  # scikit-learn scores: greater is better
            seed=self.random_state,
            load_if_exists=self.storage is not None and self.study_name is not None,
            n_workers=workers,
        )

    def _run_search(self, evaluate_candidates: Callable[..., Any], **_: Any) -> None:
        """Ask the study for ``n_jobs`` candidates at a time, have scikit-learn cross-validate
        them, tell the study their mean test scores; ``n_trials`` candidates in all."""
        workers = max(1, int(effective_n_jobs(self.n_jobs)))
        study = self._open_study(workers)
        key = self.refit if isinstance(self.refit, str) else "score"
        done = 0
        while done < self.n_trials:
            batch = [study.ask() for _ in range(min(workers, self.n_trials - done))]
            try:
                results = evaluate_candidates([dict(t.params) for t in batch])
            except BaseException as e:  # error_score="raise", Ctrl-C: no trial stays running
                for t in batch:
                    study.tell(t, state="failed", message=_last_line(e))
                if not (_all_fits_failed(e) and self.error_score != "raise"):
                    raise
                # scikit-learn refuses a round in which every fit failed; the search goes on
                # (those candidates are FAILED trials, not rows of cv_results_) unless all did
                done += len(batch)
                if done >= self.n_trials and not any(
                    t.state.name == "COMPLETE" for t in study.get_trials()
                ):
                    raise
                continue
            means = results.get(f"mean_test_{key}")
            if means is None:  # several scorers and refit is not the name of one of them
                raise ConfigError(
                    "with several scorers, refit must name the one to optimise "
                    f"(one of: {', '.join(sorted(self.scoring))})",
                    field="refit",
                )
            stds = results[f"std_test_{key}"]
            first = len(means) - len(batch)
            for i, t in enumerate(batch):
                mean = float(means[first + i])
                if math.isfinite(mean):
                    t.set_user_attr("std_test_score", float(stds[first + i]))
                    study.tell(t, mean)
                else:
                    study.tell(t, state="failed", message="every cross-validation split failed")
            done += len(batch)
        self.trials_ = study.get_trials()
        self.study_name_ = study.name


def _all_fits_failed(e: BaseException) -> bool:
    """scikit-learn's error for a call of ``evaluate_candidates`` in which every fit failed."""
    return isinstance(e, ValueError) and "fits failed" in str(e).lstrip().split("\n", 1)[0]


def _last_line(e: BaseException) -> str:
    lines = [line for line in str(e).strip().splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[-1] if lines else ''}"
