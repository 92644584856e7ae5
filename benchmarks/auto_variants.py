"""Variants of the ``auto`` rule on one problem of ``benchmarks/auto.py`` (issue 13, "Third pass").

Each variant keeps auto's first ``n_startup_trials`` Sobol points and changes what follows:

* ``auto``: the current rule (a check that the patching leaves the rule alone);
* ``tpe`` / ``sobol``: that sampler to the end;
* ``mix3``: auto's pick, but after the Sobol points every trial numbered 2 mod 3 takes the
  Sobol sequence's point of that number;
* ``tpe20``: tpe up to trial 20, then auto's pick;
* ``repeat-random``: auto, but a gp point already tried is replaced by an untried uniform draw
  instead of tpe's proposal.

The runs are ``benchmarks/auto.py``'s own (``drive`` with the budget planned), with
``AutoSampler.choice`` / ``AutoSampler._untried`` replaced in the worker process.  The table
prints the median regret of each variant next to the cached ``auto`` / ``optuna`` / ``random``
runs of ``benchmarks/auto.py`` (the same cache files; run that first), from the same best value.

    PYTHONPATH=src nice python benchmarks/auto_variants.py --problem tree_cancer --variants tpe,sobol
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import auto as A  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
import model_based as MB  # noqa: E402
import numpy as np  # noqa: E402

from tansaku.samplers import _auto  # noqa: E402
from tansaku.samplers._base import Proposal  # noqa: E402

VARIANTS = ("auto", "tpe", "sobol", "mix3", "repeat-random", "tpe20")
_ORIGINAL_CHOICE = _auto.AutoSampler.choice


def _patch(variant: str) -> None:
    """Make ``AutoSampler`` in this process follow ``variant``."""

    def choice(self: _auto.AutoSampler, n_pending: int = 0) -> str:
        base = _ORIGINAL_CHOICE(self, n_pending)
        n_seen = len(self._history) + n_pending
        if base == "sobol" or variant in ("auto", "repeat-random"):
            return base
        if variant in ("tpe", "sobol"):
            return variant
        if variant == "tpe20":
            return "tpe" if n_seen < 20 else base
        if variant == "mix3":
            return "sobol" if n_seen % 3 == 2 else base
        raise ValueError(variant)

    def untried(self: _auto.AutoSampler, pending: Sequence[Any]) -> tuple[str, Proposal]:
        n_seen = len(self._history) + len(pending)
        params: dict[str, Any] = {}
        for attempt in range(_auto.UNTRIED_DRAWS):
            rng = np.random.default_rng([self.seed or 0, n_seen, attempt])
            params = self.space.from_unit(rng.random(len(self.space)))
            if not self._repeats(params, pending):
                break
        return "random", Proposal(params)

    _auto.AutoSampler.choice = choice  # type: ignore[method-assign]
    if variant == "repeat-random":
        _auto.AutoSampler._untried = untried  # type: ignore[method-assign]


def run(variant: str, problem: str, seed: int, budget: int) -> tuple[list[float], list[str], float]:
    """Values and auto's picks of one run, and its CPU seconds."""
    MB._quiet()
    _patch(variant)
    from tansaku.samplers import make_sampler
    from tansaku.testing.driver import drive

    t0 = time.process_time()
    f = A.test_function(problem)
    if f is None:
        space, objective = A.MODELS[problem].space, A.MODELS[problem].error
    else:  # as model_based.run_tansaku calls a test function
        names = [f"x{j}" for j in range(f.dim)]
        space, objective = f.space(), lambda p: f([p[k] for k in names])
    res = drive(make_sampler({"name": "auto", "seed": seed}), space, objective,
                n_trials=budget, seed=seed)
    picks = [str(t.system_attrs.get(_auto.CHOICE_ATTR)) for t in res.finished]
    return [float(t.value) for t in res.finished], picks, time.process_time() - t0  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="tree_cancer")
    ap.add_argument("--variants", default="tpe,sobol,mix3,repeat-random")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", default="20,50,100,200")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", default="benchmarks/.auto_variants_cache.json")
    ap.add_argument("--auto-cache", default="benchmarks/.auto_cache.json",
                    help="benchmarks/auto.py's cache files (comma-separated) for the baselines")
    args = ap.parse_args(argv)
    MB._quiet()
    budgets = [int(b) for b in args.budgets.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    cache = MB.Cache([Path(args.cache)])
    base = MB.Cache([Path(p) for p in args.auto_cache.split(",")])
    top = max(budgets)
    jobs = [(v, k) for v in variants for k in range(args.seeds)
            if cache.get(f"{v}|{args.problem}|{k}", top) is None]
    if jobs:
        with ProcessPoolExecutor(max_workers=args.workers, initializer=MB._quiet) as pool:
            futs = {pool.submit(run, v, args.problem, k, top): (v, k) for v, k in jobs}
            for fut in as_completed(futs):
                v, k = futs[fut]
                ys, picks, secs = fut.result()
                cache.put(f"{v}|{args.problem}|{k}", {"ys": ys, "picks": picks, "seconds": secs})
                print(f"  {v} seed={k}: {secs:.1f} s CPU", flush=True)
    runs = {f"{s} (auto.py)": [base.get(f"{s}|{args.problem}|{k}", top) for k in range(args.seeds)]
            for s in A.SAMPLERS}
    runs.update({v: [cache.get(f"{v}|{args.problem}|{k}", top) for k in range(args.seeds)]
                 for v in variants})
    runs = {s: rs for s, rs in runs.items() if all(r is not None for r in rs)}
    f = A.test_function(args.problem)
    best = f.optimum if f is not None else min(min(r) for rs in runs.values() for r in rs)  # type: ignore[type-var]
    print(f"\n{args.problem}: median regret over {args.seeds} seeds\n")
    print("| variant | " + " | ".join(f"@{b}" for b in budgets) + " |")
    print("|---|" + "---:|" * len(budgets))
    for s, rs in runs.items():
        cells = [float(np.median([min(r[:b]) - best for r in rs])) for b in budgets]  # type: ignore[index]
        print(f"| {s} | " + " | ".join(f"{c:.4g}" for c in cells) + " |")


if __name__ == "__main__":
    main()
