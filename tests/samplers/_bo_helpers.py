"""Helpers shared by the model-based sampler tests."""

from __future__ import annotations

import math
from typing import Any

import tansaku as tk
from tansaku.testing import functions as F

MIXED_SPACE: dict[str, Any] = {
    "lr": tk.Float(1e-5, 1e-1, log=True),
    "momentum": tk.Float(0.0, 0.99),
    "layers": tk.Int(1, 8),
    "units": tk.Int(8, 512, log=True),
    "drop": tk.Float(0.0, 0.5, step=0.1),
    "act": tk.Categorical(["relu", "tanh", "gelu"]),
}


def mixed_objective(trial: Any) -> float:
    p = trial.params
    return (
        (math.log10(p["lr"]) + 3.0) ** 2
        + (p["momentum"] - 0.9) ** 2
        + 0.1 * abs(p["layers"] - 3)
        + 0.5 * abs(math.log2(p["units"]) - 7)
        + p["drop"]
        + {"relu": 1.0, "tanh": 0.0, "gelu": 2.0}[p["act"]]
    )


def branin_study(sampler: Any, n_trials: int, **kwargs: Any) -> tk.Study:
    study = tk.create_study(F.branin.space(), sampler=sampler, **kwargs)
    study.optimize(F.branin.objective(), n_trials=n_trials)
    return study


def params_of(study: tk.Study) -> list[dict[str, Any]]:
    return [dict(t.params) for t in study.trials]
