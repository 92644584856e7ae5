"""Keras 3: report a metric to the tansaku trial after every epoch and stop the training when the
study's pruner says so.  Any Keras backend (``KERAS_BACKEND=torch``, jax or tensorflow).

.. code-block:: python

    import keras
    from tansaku.integration.keras import KerasPruningCallback

    def objective(trial):
        model = build_model(trial.params)
        history = model.fit(x, y, validation_split=0.2, epochs=20, verbose=0,
                            callbacks=[KerasPruningCallback(trial, monitor="val_loss")])
        return history.history["val_loss"][-1]

The step is the epoch (from 0).  The metric must point the way the study optimises.
"""

from __future__ import annotations

from typing import Any

from tansaku._errors import ConfigError
from tansaku.integration._common import check_monitor, observed, report_and_prune, require

keras = require("keras", extra="keras", user="tansaku.integration.keras")

__all__ = ["KerasPruningCallback"]


class KerasPruningCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """A Keras callback that reports ``monitor`` (a key of the epoch's logs: ``val_loss``,
    ``val_accuracy``...) each epoch to ``trial`` and raises :class:`tansaku.TrialPruned` out of
    ``model.fit`` when the trial should stop.  A key the logs lack raises a
    :class:`tansaku.ConfigError` naming those they have."""

    def __init__(self, trial: Any, monitor: str = "val_loss") -> None:
        check_monitor(monitor)
        super().__init__()
        self.trial = trial
        self.monitor = monitor

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise ConfigError(
                f"the epoch logs have no {self.monitor!r} (they have: "
                f"{', '.join(sorted(logs)) or 'nothing'}; validation_data gives val_ keys)",
                field="monitor",
            )
        v = observed(logs[self.monitor], key=self.monitor, field="monitor")
        report_and_prune(self.trial, v, int(epoch), key=self.monitor)
