"""Cost of a pruning decision as the study grows: tansaku vs Optuna, in-memory storage.

n trials, each reporting 10 steps of a random decreasing curve and asking after every report
whether to stop (and stopping if told).  Printed: microseconds per report+decision (storage
included) for the trials between n/2 and n, so the numbers show how the cost grows with the study.

    nice python benchmarks/pruner_overhead.py            # n = 250, 500, 1000
    nice python benchmarks/pruner_overhead.py --quick    # n = 250, 500
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import tansaku as tk

STEPS = 10


def curves(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.random(n)[:, None]
    return base + 1.0 / np.arange(1, STEPS + 1)[None, :] + 0.05 * rng.random((n, STEPS))


def _report_curve(trial: Any, row: np.ndarray) -> tuple[int, bool, float]:
    """Report ``row`` step by step, asking after each report whether to prune (the two frameworks
    spell it alike); returns the reports made, whether it was pruned and the seconds it took."""
    t0 = time.perf_counter()
    reports, pruned = 0, False
    for step, v in enumerate(row, 1):
        trial.report(float(v), step)
        reports += 1
        if trial.should_prune():
            pruned = True
            break
    return reports, pruned, time.perf_counter() - t0


def run_tansaku(pruner: object, c: np.ndarray) -> float:
    study = tk.create_study({"x": tk.Float(0, 1)}, pruner=pruner)  # type: ignore[arg-type]
    spent, half = 0.0, len(c) // 2
    for i, row in enumerate(c):
        t = study.ask()
        reports, pruned, dt = _report_curve(t, row)
        study.tell(t, state="pruned") if pruned else study.tell(t, float(row[-1]))
        if i >= half:
            spent += dt / reports
    return 1e6 * spent / (len(c) - half)


def run_optuna(pruner: object, c: np.ndarray) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(pruner=pruner)  # type: ignore[arg-type]
    spent, half = 0.0, len(c) // 2
    for i, row in enumerate(c):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        reports, pruned, dt = _report_curve(t, row)
        if pruned:
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(t, float(row[-1]))
        if i >= half:
            spent += dt / reports
    return 1e6 * spent / (len(c) - half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sizes = [250, 500] if args.quick else [250, 500, 1000]
    try:
        import optuna
    except ImportError:
        optuna = None  # type: ignore[assignment]
    pairs = [
        ("median", {"name": "median"}, lambda: optuna.pruners.MedianPruner()),
        (
            "asha",
            {"name": "asha", "reduction_factor": 3},
            lambda: optuna.pruners.SuccessiveHalvingPruner(reduction_factor=3),
        ),
        (
            "hyperband",
            {"name": "hyperband", "max_resource": STEPS},
            lambda: optuna.pruners.HyperbandPruner(max_resource=STEPS),
        ),
    ]
    print("microseconds per report + decision, trials n/2..n (in-memory storage)")
    print()
    print("| pruner | n | tansaku (us) | optuna (us) | optuna / tansaku |")
    print("|---|---|---|---|---|")
    for name, ours, theirs in pairs:
        for n in sizes:
            c = curves(n)
            a = run_tansaku(ours, c)
            b = run_optuna(theirs(), c) if optuna is not None else float("nan")
            print(f"| {name} | {n} | {a:.0f} | {b:.0f} | {b / a:.1f} |", flush=True)


if __name__ == "__main__":
    main()
