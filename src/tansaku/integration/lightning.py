"""PyTorch Lightning: report a logged validation metric to the tansaku trial after every
validation run and stop the training when the study's pruner says so.

.. code-block:: python

    import lightning.pytorch as pl
    from tansaku.integration.lightning import LightningPruningCallback

    def objective(trial):
        model = MyModule(lr=trial.params["lr"])          # logs self.log("val_loss", ...)
        trainer = pl.Trainer(max_epochs=20,
                             callbacks=[LightningPruningCallback(trial, monitor="val_loss")])
        trainer.fit(model, train_loader, val_loader)
        return trainer.callback_metrics["val_loss"].item()

The step is the epoch (``trainer.current_epoch``); the sanity check before training is not
reported.  The metric must point the way the study optimises.  One process per trial (a
multi-device strategy would report from every rank).
"""

from __future__ import annotations

from typing import Any

from tansaku._errors import ConfigError
from tansaku.integration._common import check_monitor, observed, report_and_prune, require

pl = require(
    "lightning.pytorch",
    extra="lightning",
    user="tansaku.integration.lightning",
    package="lightning",
)

__all__ = ["LightningPruningCallback"]


class LightningPruningCallback(pl.Callback):  # type: ignore[misc]
    """A Lightning callback that reports ``monitor`` (a metric the module logs with
    ``self.log``) at the end of each validation run to ``trial`` and raises
    :class:`tansaku.TrialPruned` out of ``trainer.fit`` when the trial should stop.  A metric
    that is not logged raises a :class:`tansaku.ConfigError` naming those that are."""

    def __init__(self, trial: Any, monitor: str) -> None:
        check_monitor(monitor)
        super().__init__()
        self.trial = trial
        self.monitor = monitor

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise ConfigError(
                f"the module does not log {self.monitor!r} (it logs: "
                f"{', '.join(sorted(metrics)) or 'nothing'})",
                field="monitor",
            )
        v = observed(metrics[self.monitor], key=self.monitor, field="monitor")
        report_and_prune(self.trial, v, int(trainer.current_epoch), key=self.monitor)
