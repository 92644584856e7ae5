"""Median simple regret of tansaku's ``tpe`` against Optuna 5's TPESampler (issue 4).

Functions: Branin, Hartmann3, Hartmann6, Rosenbrock-10D, Styblinski-Tang-10D, Ackley-10D
(``tansaku.testing.functions``), each searched on its natural box; ``--seeds`` runs per sampler
(seeds 0..N-1; the TPE defaults were chosen on seeds 100-115, so these are held out); regret of
the best value after 50 / 100 / 200 evaluations.

Samplers: ``tpe`` (tansaku defaults, through ``tk.create_study``), ``tpe-uni``
(``multivariate=False``), ``optuna-tpe`` (``TPESampler(seed=s)``: Optuna 5's defaults, which
are multivariate), ``optuna-tpe-uni`` (``multivariate=False``) and ``random`` (tansaku) as a floor.

Run from the repository root (2 niced worker processes)::

    PYTHONPATH=src nice python benchmarks/tpe_regret.py [--quick] [--seeds 10] [--json out.json]

The verdict line counts the functions on which tansaku's median regret is no worse than Optuna's
(default sampler) at every budget, and at the final budget.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402

import tansaku as tk  # noqa: E402
from tansaku.testing import functions as F  # noqa: E402

SAMPLERS = ("tpe", "tpe-uni", "optuna-tpe", "optuna-tpe-uni", "random")


def _run(job: tuple[str, str, int, int]) -> list[float]:
    """Best-so-far regret trace of one (sampler, function, seed) run."""
    sampler, fname, seed, budget = job
    warnings.filterwarnings("ignore")
    if os.nice(0) < 10:
        os.nice(10)
    f = F.get(fname)
    if sampler.startswith("optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        mv = not sampler.endswith("-uni")
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=mv))
        study.optimize(f.define_by_run(), n_trials=budget)
        values = [t.value for t in study.trials]
    else:
        spec: dict = {"name": "random" if sampler == "random" else "tpe", "seed": seed}
        if sampler == "tpe-uni":
            spec["multivariate"] = False
        ours = tk.create_study(f.space(), sampler=spec)
        ours.optimize(f.objective(), n_trials=budget)
        values = [t.value for t in ours.trials]
    return [f.regret(v) for v in np.minimum.accumulate(np.asarray(values, dtype=float))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds, budgets 50/100, 3 functions")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument("--json", default=None, help="also write the raw traces here")
    args = ap.parse_args(argv)
    budgets = (50, 100) if args.quick else (50, 100, 200)
    seeds = range(3 if args.quick else args.seeds)
    funcs = ("branin", "hartmann6", "ackley10") if args.quick else tuple(F.FUNCTIONS)
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    jobs = [(s, fn, seed, budgets[-1]) for s in samplers for fn in funcs for seed in seeds]
    with ProcessPoolExecutor(max_workers=2) as pool:
        traces = dict(zip(jobs, pool.map(_run, jobs, chunksize=1)))
    med = {(s, fn, b): float(np.median([traces[(s, fn, seed, budgets[-1])][b - 1] for seed in seeds]))
           for s in samplers for fn in funcs for b in budgets}
    print(f"median regret over {len(seeds)} seeds (lower is better); '<=' marks tpe no worse than "
          "optuna-tpe")
    print()
    print("| function | evals | " + " | ".join(samplers) + " | tpe vs optuna |")
    print("|" + "---|" * (len(samplers) + 3))
    every, final = 0, 0
    for fn in funcs:
        ok_all = True
        for b in budgets:
            row = [f"{med[(s, fn, b)]:.4g}" for s in samplers]
            mark = ""
            if "tpe" in samplers and "optuna-tpe" in samplers:
                ok = med[("tpe", fn, b)] <= med[("optuna-tpe", fn, b)]
                ok_all &= ok
                ratio = med[("tpe", fn, b)] / max(med[("optuna-tpe", fn, b)], 1e-300)
                mark = f"{'<=' if ok else '>'} ({ratio:.2f}x)"
                final += ok and b == budgets[-1]
            print(f"| {fn} | {b} | " + " | ".join(row) + f" | {mark} |")
        every += ok_all
    if "tpe" in samplers and "optuna-tpe" in samplers:
        print()
        print(f"tpe no worse than optuna-tpe at every budget on {every}/{len(funcs)} functions, "
              f"at {budgets[-1]} evaluations on {final}/{len(funcs)}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"|".join(map(str, k)): v for k, v in traces.items()}, fh)


if __name__ == "__main__":
    main()
