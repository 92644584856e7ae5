"""PyTorch Lightning and Keras (torch backend) pruning callbacks (issue 19.3): a real tiny
network reports its validation loss each epoch, and a trial that barely learns is pruned.  They
run where torch installs (scripts/test.sh installs the CPU build)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

import tansaku as tk
from tests.integration.conftest import PrunedRun

EPOCHS = 5


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None]
    return x, y


def test_lightning_callback_reports_each_epoch_and_prunes_a_bad_trial(
    pruned_third_trial: PrunedRun,
) -> None:
    torch = pytest.importorskip("torch")
    pl = pytest.importorskip("lightning.pytorch")
    from tansaku.integration.lightning import LightningPruningCallback

    torch.set_num_threads(1)
    x, y = (torch.from_numpy(a) for a in _data())
    data = torch.utils.data.TensorDataset(x, y)

    class Net(pl.LightningModule):
        def __init__(self, lr: float) -> None:
            super().__init__()
            self.lr = lr
            self.layer = torch.nn.Linear(3, 1)

        def training_step(self, batch: Any, _: int) -> Any:
            return torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])

        def validation_step(self, batch: Any, _: int) -> None:
            loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
            self.log("val_loss", loss)

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    def objective(trial: tk.Trial) -> float:
        torch.manual_seed(0)
        trainer = pl.Trainer(
            max_epochs=EPOCHS,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[LightningPruningCallback(trial, monitor="val_loss")],
        )
        loader = torch.utils.data.DataLoader(data, batch_size=16)
        trainer.fit(Net(trial.params["lr"]), loader, torch.utils.data.DataLoader(data, 64))
        return float(trainer.callback_metrics["val_loss"])

    study = pruned_third_trial(objective, good=0.1, bad=1e-6, steps=EPOCHS)
    good = study.get_trials(with_intermediate=True)[0]
    assert good.intermediate[EPOCHS - 1] == pytest.approx(good.value, rel=1e-5)


def test_keras_callback_reports_each_epoch_and_prunes_a_bad_trial(
    pruned_third_trial: PrunedRun,
) -> None:
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("this test runs Keras on its torch backend")
    pytest.importorskip("torch")
    os.environ["KERAS_BACKEND"] = "torch"  # read when keras is first imported
    keras = pytest.importorskip("keras")
    from tansaku.integration.keras import KerasPruningCallback

    x, y = _data()

    def objective(trial: tk.Trial) -> float:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(trial.params["lr"]), loss="mse")
        history = model.fit(
            x,
            y,
            validation_data=(x, y),
            epochs=EPOCHS,
            batch_size=16,
            verbose=0,
            callbacks=[KerasPruningCallback(trial, monitor="val_loss")],
        )
        return float(history.history["val_loss"][-1])

    study = pruned_third_trial(objective, good=0.1, bad=1e-6, steps=EPOCHS)
    good = study.get_trials(with_intermediate=True)[0]
    assert good.intermediate[EPOCHS - 1] == pytest.approx(good.value, rel=1e-5)
    with pytest.raises(tk.ConfigError, match=r"monitor: .*'val_acc'.*val_loss"):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(
            x,
            y,
            validation_data=(x, y),
            epochs=1,
            verbose=0,
            callbacks=[KerasPruningCallback(tk.Trial(number=0, params={}), "val_acc")],
        )
