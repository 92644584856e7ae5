"""The same conditional study as study.yaml, from Python, with the objective in-process.

Run: python tune.py [n_trials]
"""

from __future__ import annotations

import sys

from train import error

import tansaku as tk

SPACE = {
    "solver": tk.Categorical(["sgd", "adam"]),
    "lr": tk.Float(1e-4, 0.3, log=True),
    "momentum": tk.Float(0.0, 0.99, when={"solver": "sgd"}),
    "beta1": tk.Float(0.5, 0.999, when={"solver": "adam"}),
    "layers": tk.Int(1, 3),
    "units1": tk.Int(8, 128, log=True),
    "units2": tk.Int(8, 128, log=True, when={"layers": [2, 3]}),
    "units3": tk.Int(8, 128, log=True, when={"layers": 3}),
}


def main(n_trials: int = 30) -> tk.Study:
    study = tk.create_study(SPACE, sampler="tpe", storage=None, name="conditional", seed=0)
    study.optimize(lambda trial: error(dict(trial.params)), n_trials=n_trials)
    print(f"best error {study.best_value:.4f} with {study.best_params}")
    return study


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
