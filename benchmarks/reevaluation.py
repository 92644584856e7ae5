"""Re-evaluation under noise: Hartmann6 + Gaussian noise.

Per seed: a study of N single evaluations (sampler ``random`` or ``sobol``) of
``hartmann6(x) + N(0, sigma^2)`` (the noise drawn from ``trial.seed``, so every evaluation has its
own); then

* single: the trial with the best observed value (what ``tansaku best`` reports);
* re-evaluated: ``reevaluate(top=K, repeats=R)`` and the point with the best mean
  (``tansaku best --by mean``).

Both picks are scored by their *true* (noise-free) value.  Printed: how often the re-evaluated pick
is truly better than the single-evaluation best, the same point, or worse; mean true regret of
each; and the cost (K * R extra evaluations).

    nice python benchmarks/reevaluation.py            # 50 seeds x sigma 0.1, 0.25, 0.5, 1.0
    nice python benchmarks/reevaluation.py --quick    # 10 seeds x sigma 0.25, 1.0
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tansaku as tk
from tansaku.study import rank_by_mean, reevaluate
from tansaku.testing.functions import hartmann6

NAMES = [f"x{i}" for i in range(6)]


def point(params: dict[str, float]) -> np.ndarray:
    return np.array([params[n] for n in NAMES])


def run_seed(
    seed: int, *, n: int, top: int, repeats: int, sigma: float, sampler: str
) -> dict[str, float]:
    def objective(trial: tk.Trial) -> float:
        noise = np.random.default_rng(trial.seed).normal(0.0, sigma)
        return hartmann6(point(dict(trial.params))) + float(noise)

    study = tk.create_study(hartmann6.space(), sampler={"name": sampler, "seed": seed}, seed=seed)
    study.optimize(objective, n_trials=n)
    single = study.best_trial
    reevaluate(study, objective, top=top, repeats=repeats)
    picked = rank_by_mean(study)[0]
    candidates = sorted(study.get_trials(), key=lambda t: t.value or 0.0)[:top]
    true = {t.number: hartmann6(point(dict(t.params))) for t in study.get_trials()}
    return {
        "single": true[single.number],
        "single_observed": float(single.value or 0.0),
        "reeval": true[picked.trial],
        "oracle_top_k": min(true[t.number] for t in candidates),
        "same": float(picked.trial == single.number),
    }


def main() -> None:
    from tansaku.samplers import available_samplers

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 seeds, two noise levels")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sigma", type=float, nargs="+", default=[0.1, 0.25, 0.5, 1.0])
    ap.add_argument("--sampler", default="random", choices=available_samplers())
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per seed")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.sigma = 10, [0.25, 1.0]
    t0 = time.time()
    opt = hartmann6.optimum
    print(
        f"Hartmann6 (optimum {opt:.4f}) + N(0, sigma^2); {args.sampler} sampler, {args.trials} "
        f"evaluations, then the top {args.top} re-evaluated {args.repeats} times each "
        f"({args.top * args.repeats} more); {args.seeds} seeds per noise level"
    )
    print()
    print(
        "| sigma | re-evaluated pick truly better | same point | worse | better when the single "
        "best was not the truly best of the top K | mean true regret: single best | "
        "best mean after re-evaluation | oracle of the top K |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for sigma in args.sigma:
        rows = []
        for seed in range(args.seeds):
            r = run_seed(
                seed,
                n=args.trials,
                top=args.top,
                repeats=args.repeats,
                sigma=sigma,
                sampler=args.sampler,
            )
            rows.append(r)
            if args.verbose:
                verdict = (
                    "same point"
                    if r["same"]
                    else ("better" if r["reeval"] < r["single"] else "worse")
                )
                print(
                    f"sigma {sigma:g} seed {seed:2d}: single best observed "
                    f"{r['single_observed']:+.4f}, true {r['single']:+.4f} | re-evaluated pick "
                    f"true {r['reeval']:+.4f} ({verdict})",
                    flush=True,
                )
        better = sum(r["reeval"] < r["single"] and not r["same"] for r in rows)
        same = sum(bool(r["same"]) for r in rows)
        worse = len(rows) - better - same
        improvable = [r for r in rows if r["oracle_top_k"] < r["single"]]
        better_improvable = sum(r["reeval"] < r["single"] for r in improvable)

        def regret(key: str, rows: list[dict[str, float]] = rows) -> str:
            return f"{statistics.mean(r[key] - opt for r in rows):.3f}"

        print(
            f"| {sigma:g} | **{better} of {len(rows)}** | {same} | {worse} | "
            f"{better_improvable} of {len(improvable)} | {regret('single')} | "
            f"{regret('reeval')} | {regret('oracle_top_k')} |",
            flush=True,
        )
    print()
    print(f"wall {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
