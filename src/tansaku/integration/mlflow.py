"""MLflow: one MLflow run per finished tansaku trial, with its parameters, value(s), intermediate
values, state and attributes.

.. code-block:: python

    from tansaku.integration.mlflow import MLflowCallback

    study.optimize(objective, n_trials=50,
                   callbacks=[MLflowCallback(tracking_uri="sqlite:///mlflow.db")])

or in a study config: ``callbacks: [mlflow]`` or
``callbacks: [{name: mlflow, tracking_uri: sqlite:///mlflow.db, experiment: tuning}]``.

Each run, in the experiment ``experiment`` (default: the study's name, created when missing), is
named ``trial <number>`` and holds

* **params**: the trial's parameters (as text, MLflow's form);
* **metrics**: the value under ``metric_name`` (default ``value``; the objective names of a
  multi-objective study, else ``value_0``, ``value_1``...), at the trial's last step; every
  intermediate value ``trial.report`` stored, as the metric ``intermediate_value`` at its step;
  each constraint as ``constraint.<name>``;
* **tags**: ``tansaku.study``, ``tansaku.trial`` (the number), ``tansaku.state`` (complete,
  pruned, failed), ``tansaku.direction``, ``tansaku.message`` for a failed trial, each user
  attribute as ``user_attr.<key>``, and the ``tags`` given;
* its start and end time are the trial's, its status FINISHED (complete), KILLED (pruned) or
  FAILED.

The callback runs in the process that finished the trial (each ``tansaku worker`` logs its own
trials), after the trial is stored: a tracking server that is down fails the callback, not the
trial.  MLflow is imported, and the tracking store opened, at the first finished trial.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from typing import Any

from tansaku._errors import ConfigError
from tansaku.integration._common import require

__all__ = ["MLflowCallback"]

_STATUS = {"complete": "FINISHED", "pruned": "KILLED", "failed": "FAILED"}
_MAX_BATCH = {"metrics": 1000, "params": 100, "tags": 100}  # MLflow's log_batch limits


class MLflowCallback:
    """A study callback (``optimize(callbacks=[...])``) that logs each finished trial as an MLflow
    run; see the module docstring.  ``tracking_uri``: MLflow's (None: MLflow's default, e.g. the
    ``MLFLOW_TRACKING_URI`` variable); ``experiment``: the experiment name (None: the study's
    name); ``metric_name``: the name of the value (a list, one per objective, for several);
    ``tags``: extra tags on every run."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        experiment: str | None = None,
        metric_name: str | list[str] | tuple[str, ...] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        for key, value in (("tracking_uri", tracking_uri), ("experiment", experiment)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError("must be a non-empty string", field=f"mlflow.{key}")
        names = [metric_name] if isinstance(metric_name, str) else metric_name
        if names is not None and (
            not isinstance(names, (list, tuple))
            or not names
            or not all(isinstance(n, str) and n for n in names)
        ):
            raise ConfigError("must be a name or a list of names", field="mlflow.metric_name")
        if tags is not None and (
            not isinstance(tags, Mapping)
            or not all(
                isinstance(k, str) and isinstance(v, (str, int, float, bool))
                for k, v in tags.items()
            )
        ):
            raise ConfigError(
                "must be a mapping of tag names to strings or numbers", field="mlflow.tags"
            )
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.metric_names = None if names is None else tuple(names)
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self._client: Any = None
        self._experiments: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MLflowCallback(tracking_uri={self.tracking_uri!r}, experiment={self.experiment!r})"

    # ------------------------------------------------------------------ MLflow side
    def _mlflow_client(self) -> Any:
        if self._client is None:
            tracking = require(
                "mlflow.tracking",
                extra="mlflow",
                user="tansaku.integration.mlflow",
                package="mlflow",
            )
            self._client = tracking.MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def _experiment_id(self, name: str) -> str:
        if name in self._experiments:
            return self._experiments[name]
        client = self._mlflow_client()
        found = client.get_experiment_by_name(name)
        if found is None:
            try:
                exp_id = client.create_experiment(name)
            except Exception:  # another worker created it meanwhile
                found = client.get_experiment_by_name(name)
                if found is None:
                    raise
                exp_id = found.experiment_id
        else:
            exp_id = found.experiment_id
        self._experiments[name] = exp_id
        return str(exp_id)

    # ------------------------------------------------------------------ the callback
    def __call__(self, study: Any, trial: Any) -> None:
        with self._lock:
            self._log(study, trial)

    def _metric_names(self, study: Any, n: int) -> list[str]:
        if self.metric_names is not None:
            if len(self.metric_names) != n:
                raise ConfigError(
                    f"names {len(self.metric_names)} values, the study has {n}",
                    field="mlflow.metric_name",
                )
            return list(self.metric_names)
        if n == 1:
            return ["value"]
        names = tuple(getattr(study, "objective_names", ()) or ())
        return list(names) if len(names) == n else [f"value_{i}" for i in range(n)]

    def _log(self, study: Any, trial: Any) -> None:
        from mlflow.entities import Metric, Param

        if trial.last_step is not None and not trial.intermediate:
            trial = study.storage.get_trial(trial.trial_id, with_intermediate=True)
        client = self._mlflow_client()
        exp_id = self._experiment_id(self.experiment or study.name)
        start = _ms(trial.start_time)
        end = _ms(trial.end_time) or start
        state = trial.state.value
        directions = tuple(getattr(study, "directions", ()) or (study.direction,))
        tags = {
            "tansaku.study": study.name,
            "tansaku.trial": str(trial.number),
            "tansaku.state": state,
            "tansaku.direction": ",".join(directions),
            **self.tags,
        }
        if trial.message:
            tags["tansaku.message"] = str(trial.message)[:5000]
        for key, value in trial.user_attrs.items():
            tags[f"user_attr.{key}"] = _text(value)
        run = client.create_run(
            exp_id, start_time=start, tags=tags, run_name=f"trial {trial.number}"
        )
        step = trial.last_step or 0
        metrics = []
        values = trial.values or ()
        if values:
            for name, v in zip(self._metric_names(study, len(values)), values):
                if math.isfinite(v):
                    metrics.append(Metric(name, float(v), end, step))
        for s, v in sorted(trial.intermediate.items()):
            if math.isfinite(v):
                metrics.append(Metric("intermediate_value", float(v), end, int(s)))
        for name, v in trial.constraints.items():
            if math.isfinite(v):
                metrics.append(Metric(f"constraint.{name}", float(v), end, step))
        params = [Param(k, _text(v)) for k, v in trial.params.items()]
        run_id = run.info.run_id
        for kind, items in (("metrics", metrics), ("params", params)):
            size = _MAX_BATCH[kind]
            for i in range(0, len(items), size):
                client.log_batch(run_id, **{kind: items[i : i + size]})
        client.set_terminated(run_id, status=_STATUS.get(state, "FAILED"), end_time=end)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value[:6000]
    try:
        return json.dumps(value)[:6000]
    except (TypeError, ValueError):
        return str(value)[:6000]
