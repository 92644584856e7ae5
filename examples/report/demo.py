"""A study worth looking at: tune a (simulated) network with 4 workers, then write its report.

    python examples/report/demo.py                 # -> demo.db and report-demo/index.html
    tansaku dashboard --storage sqlite:///demo.db  # watch it (run the demo again to see it live)

The objective fakes a training run: it "trains" for a time that grows with the network's size,
reports a validation loss per epoch, gives up early on hopeless settings (pruned trials) and now
and then crashes (failed trials), so every part of the report has something to show.  The
``act`` choices include a string that looks like HTML, to show that reports print it as text.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

import tansaku as tk

SPACE = {
    "lr": tk.Float(1e-5, 1e-1, log=True),
    "momentum": tk.Float(0.0, 0.99),
    "layers": tk.Int(1, 6),
    "hidden": tk.Int(8, 512, log=True),
    "act": tk.Categorical(["relu", "tanh", "<b>gelu</b>"]),
}


def objective(trial: tk.Trial) -> float:
    p = trial.params
    rng = random.Random(trial.number)
    loss = (
        0.08
        + 0.25 * (math.log10(p["lr"]) + 2.3) ** 2
        + 0.3 * (p["momentum"] - 0.85) ** 2
        + 0.02 * abs(p["layers"] - 3)
        + 0.03 * (math.log2(p["hidden"]) - 7) ** 2 / 4
        + {"relu": 0.0, "tanh": 0.06, "<b>gelu</b>": 0.02}[p["act"]]
        + rng.gauss(0, 0.01)
    )
    epoch_time = 0.01 * (1 + p["layers"] * p["hidden"] / 256) * rng.uniform(0.7, 1.3)
    for epoch in range(5):
        time.sleep(epoch_time)
        if rng.random() < 0.012:
            raise RuntimeError(f"CUDA out of memory at epoch {epoch} (hidden={p['hidden']})")
        trial.report(loss * (1 + 2.0 / (epoch + 1)), epoch)
        if epoch == 1 and loss > 0.9 and rng.random() < 0.6:
            raise tk.TrialPruned()
    return loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage", default="sqlite:///demo.db")
    ap.add_argument("--n-trials", type=int, default=240)
    ap.add_argument("--n-workers", type=int, default=4)
    ap.add_argument("--out", default="report-demo")
    args = ap.parse_args()
    study = tk.create_study(
        SPACE, sampler="tpe", storage=args.storage, name="demo", seed=0, load_if_exists=True
    )
    study.optimize(
        objective, total_trials=args.n_trials, n_workers=args.n_workers, max_failures=None
    )
    from tansaku.report import write_report

    page = write_report(study, Path(args.out))
    print(f"best {study.best_value:.4g} with {study.best_params}; report: {page}")


if __name__ == "__main__":
    main()
