"""XGBoost: report a validation metric to the tansaku trial after every boosting round and stop
the training when the study's pruner says so.

.. code-block:: python

    import xgboost as xgb
    from tansaku.integration.xgboost import XGBoostPruningCallback

    def objective(trial):
        booster = xgb.train(
            {"objective": "binary:logistic", "eta": trial.params["eta"], "eval_metric": "logloss"},
            dtrain, num_boost_round=50, evals=[(dvalid, "valid")],
            callbacks=[XGBoostPruningCallback(trial, "valid-logloss")],
        )
        ...

``observation_key`` is ``"<evals name>-<metric>"`` as XGBoost prints it (``validation_0-rmse``
with the scikit-learn API's ``eval_set``).  The step is the boosting round.  The metric must point
the way the study optimises; with ``xgb.cv`` the fold mean is reported.
"""

from __future__ import annotations

from typing import Any

from tansaku._errors import ConfigError
from tansaku.integration._common import observed, report_and_prune, require

xgb = require("xgboost", extra="xgboost", user="tansaku.integration.xgboost")

__all__ = ["XGBoostPruningCallback"]


class XGBoostPruningCallback(xgb.callback.TrainingCallback):  # type: ignore[misc]
    """An XGBoost training callback that reports ``observation_key`` (``"valid-logloss"``) each
    round to ``trial`` and raises :class:`tansaku.TrialPruned` out of the training when the trial
    should stop.  A key the training does not evaluate raises a :class:`tansaku.ConfigError` at
    the first round, naming the keys it does evaluate."""

    def __init__(self, trial: Any, observation_key: str) -> None:
        if not isinstance(observation_key, str) or "-" not in observation_key:
            raise ConfigError(
                "must be '<evals name>-<metric>', e.g. 'validation_0-rmse'",
                field="observation_key",
            )
        super().__init__()
        self.trial = trial
        self.observation_key = observation_key

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        keys = {f"{d}-{m}": hist for d, metrics in evals_log.items() for m, hist in metrics.items()}
        hist = keys.get(self.observation_key)
        if not hist:
            raise ConfigError(
                f"the training does not evaluate {self.observation_key!r} (it evaluates: "
                f"{', '.join(keys) or 'nothing; give evals / eval_set'})",
                field="observation_key",
            )
        last = hist[-1]
        if isinstance(last, tuple):  # xgb.cv: (mean, std)
            last = last[0]
        v = observed(last, key=self.observation_key, field="observation_key")
        report_and_prune(self.trial, v, int(epoch), key=self.observation_key)
        return False  # never stops the training itself: pruning raises instead
