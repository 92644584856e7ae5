"""LightGBM: report a validation metric to the tansaku trial after every boosting round and stop
the training when the study's pruner says so.

.. code-block:: python

    import lightgbm as lgb
    from tansaku.integration.lightgbm import LightGBMPruningCallback

    def objective(trial):
        booster = lgb.train(
            {"objective": "binary", "learning_rate": trial.params["lr"], "verbose": -1},
            train, valid_sets=[valid], valid_names=["valid"],
            callbacks=[LightGBMPruningCallback(trial, "binary_logloss", valid_name="valid")],
        )
        return booster.best_score["valid"]["binary_logloss"]

The step is the boosting round (0, 1, ...).  The metric must point the way the study optimises
(a loss with ``direction: minimize``, AUC with ``maximize``); the pruner compares the reported
values of the trials as they are.  Works with ``lgb.train`` and ``lgb.cv`` (the fold mean) and with
the scikit-learn API (``LGBMClassifier.fit(..., callbacks=[...])``).
"""

from __future__ import annotations

from typing import Any

from tansaku._errors import ConfigError
from tansaku.integration._common import observed, report_and_prune, require

require("lightgbm", extra="lightgbm", user="tansaku.integration.lightgbm")

__all__ = ["LightGBMPruningCallback"]


class LightGBMPruningCallback:
    """A LightGBM callback (``callbacks=[...]``) that reports ``metric`` on the validation set
    ``valid_name`` (default: the first one that is not the training data) each round, and raises
    :class:`tansaku.TrialPruned` out of the training when the trial should stop.

    ``trial``: the :class:`tansaku.Trial` the objective got.  A metric or validation set that the
    training does not evaluate raises a :class:`tansaku.ConfigError` at the first round, naming
    what it does evaluate."""

    # run after LightGBM's own callbacks that record the evaluation (early stopping has order 30)
    order = 40

    def __init__(self, trial: Any, metric: str, *, valid_name: str | None = None) -> None:
        if not isinstance(metric, str) or not metric:
            raise ConfigError("must be the name of a LightGBM metric, e.g. 'l2'", field="metric")
        self.trial = trial
        self.metric = metric
        self.valid_name = valid_name

    def __call__(self, env: Any) -> None:
        results = env.evaluation_result_list or []
        seen = []
        for entry in results:
            data_name, eval_name, value = entry[0], entry[1], entry[2]
            if data_name == "cv_agg":
                # lgb.cv: entries are ("cv_agg", "valid l2", mean, higher_better, std)
                data_name, _, eval_name = eval_name.partition(" ")
            seen.append(f"{data_name} {eval_name}")
            if eval_name != self.metric:
                continue
            if self.valid_name is None and data_name == "training":
                continue
            if self.valid_name is not None and data_name != self.valid_name:
                continue
            key = f"{data_name} {eval_name}"
            v = observed(value, key=key, field="metric")
            report_and_prune(self.trial, v, int(env.iteration - env.begin_iteration), key=key)
            return
        want = self.metric if self.valid_name is None else f"{self.valid_name} {self.metric}"
        raise ConfigError(
            f"the training does not evaluate {want!r} (it evaluates: "
            f"{', '.join(seen) or 'nothing; give valid_sets'})",
            field="metric",
        )
