"""Issue 13 benchmark: the ``auto`` sampler against Optuna's default sampler and random search.

Median regret over seeds at 20 / 50 / 100 / 200 evaluations on three groups of problems:

* ``functions``: the project's test functions (``tansaku.testing.functions``);
* ``bbob``: functions of the COCO BBOB suite (``coco-experiment``, module ``cocoex``, instance 1)
  at d = 2, 5, 10 on their [-5, 5]^d box; regret = value - f(x_opt);
* ``sklearn``: scikit-learn models on bundled data sets with 3-fold cross-validation (fixed
  folds); "regret" = CV error - the lowest CV error any run of any sampler found on that problem.

Samplers: ``auto`` (tansaku's default, driven through the sampler contract by
``tansaku.testing.driver.drive`` with the budget planned, as a study does), ``optuna`` = Optuna's
default sampler (``TPESampler(seed=s)`` with its default settings) and ``random``.  Each run goes
to the largest budget; the smaller budgets read its prefix.  That is what a run with the smaller
``n_trials`` would give, because ``auto``'s pick does not depend on the budget below
``gp_max_trials`` (tested in ``tests/samplers/test_auto_sampler.py``).

A cell (problem, budget) is a *win* when auto's median regret is no worse than Optuna's; the
target is wins on >= 3/4 of the cells and auto never worse than random.  Runs are cached per
(sampler, problem, seed) in JSON, so an interrupted run resumes.

    PYTHONPATH=src nice python benchmarks/auto.py               # 10 seeds, all groups
    PYTHONPATH=src nice python benchmarks/auto.py --quick       # 3 seeds, budget 50

The run helpers, the cache and the quiet-process setup come from ``benchmarks/model_based.py``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import model_based as MB  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
import numpy as np  # noqa: E402

import tansaku as tk  # noqa: E402
from tansaku.samplers import make_sampler  # noqa: E402
from tansaku.testing import functions as F  # noqa: E402
from tansaku.testing.driver import drive  # noqa: E402

SAMPLERS = ("auto", "optuna", "random")
# sized for ~30 min of CPU on 2 cores (auto's gp costs ~15 s per 200-evaluation run)
FUNCS = ("branin", "hartmann6", "rosenbrock10", "ackley10")
BBOB = (8, 21)  # Rosenbrock (moderate conditioning), Gallagher 101 peaks (weak global structure)
BBOB_DIMS = (2, 5, 10)
SKLEARN = ("svc_kernel_cancer", "tree_cancer")


# -- problems ------------------------------------------------------------------------------------
@functools.cache
def bbob_function(fid: int, dim: int) -> F.TestFunction:
    """BBOB f<fid>, instance 1, as a TestFunction on [-5, 5]^dim with its known optimum."""
    import cocoex

    suite = cocoex.Suite("bbob", "", f"dimensions:{dim} function_indices:{fid} instance_indices:1")
    problem = suite.get_problem(0)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:  # cocoex writes x_opt to a file in the cwd
        os.chdir(tmp)
        try:
            problem._best_parameter("print")
            xopt = np.loadtxt(Path(tmp) / "._bbob_problem_best_parameter.txt")
        finally:
            os.chdir(here)
    fopt = float(problem(np.atleast_1d(xopt)))
    return F.TestFunction(f"bbob_f{fid}_d{dim}", tuple(problem.lower_bounds),
                          tuple(problem.upper_bounds), fopt, lambda x: float(problem(x)))


@dataclass(frozen=True)
class Model:
    """A scikit-learn model's CV error as an objective over a mixed tansaku space."""

    name: str
    space: dict[str, Any]
    error: Callable[[dict[str, Any]], float]


@functools.cache
def _data(which: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.preprocessing import StandardScaler

    if which == "cancer":  # 569 x 30, standardised
        x, y = load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(x), y
    return load_digits(return_X_y=True)  # 1797 x 64


def _cv_error(estimator: Any, which: str) -> float:
    import warnings

    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = _data(which)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = cross_val_score(estimator, x, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    return float(1.0 - score.mean())


def _svc(p: dict[str, Any]) -> float:
    from sklearn.svm import SVC

    return _cv_error(SVC(C=p["C"], gamma=p["gamma"], kernel=p.get("kernel", "rbf")), "cancer")


def _tree(p: dict[str, Any]) -> float:
    from sklearn.tree import DecisionTreeClassifier

    return _cv_error(DecisionTreeClassifier(random_state=0, **p), "cancer")


MODELS = {
    "svc_cancer": Model("svc_cancer", {"C": tk.Float(1e-3, 1e3, log=True),
                                       "gamma": tk.Float(1e-5, 10.0, log=True)}, _svc),
    "svc_kernel_cancer": Model("svc_kernel_cancer", {
        "kernel": tk.Categorical(["rbf", "poly", "sigmoid"]),
        "C": tk.Float(1e-3, 1e3, log=True), "gamma": tk.Float(1e-5, 10.0, log=True)}, _svc),
    "tree_cancer": Model("tree_cancer", {
        "max_depth": tk.Int(1, 20), "min_samples_split": tk.Int(2, 64, log=True),
        "min_samples_leaf": tk.Int(1, 32, log=True), "max_features": tk.Int(1, 30)}, _tree),
}


def _suggest(trial: Any, name: str, dist: Any) -> Any:
    """The Optuna suggestion for one tansaku distribution."""
    if isinstance(dist, tk.Categorical):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, tk.Int):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)


def problem_names(funcs: Sequence[str], bbob: Sequence[int], dims: Sequence[int],
                  models: Sequence[str]) -> list[str]:
    """The groups interleaved, so a run stopped early has finished problems of each group."""
    groups = [list(funcs), [f"bbob_f{f}_d{d}" for f in bbob for d in dims], list(models)]
    out: list[str] = []
    while any(groups):
        out += [g.pop(0) for g in groups if g]
    return out


def test_function(name: str) -> F.TestFunction | None:
    if name.startswith("bbob_f"):
        fid, dim = name.removeprefix("bbob_f").split("_d")
        return bbob_function(int(fid), int(dim))
    return F.get(name) if name in F.FUNCTIONS else None


# -- one run -------------------------------------------------------------------------------------
def _run_model(sampler: str, m: Model, seed: int, budget: int) -> list[float]:
    if sampler == "optuna":
        import optuna

        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(lambda t: m.error({n: _suggest(t, n, d) for n, d in m.space.items()}),
                       n_trials=budget)
        return [float(t.value) for t in study.trials]
    res = drive(make_sampler({"name": sampler, "seed": seed}), m.space, m.error,
                n_trials=budget, seed=seed)
    return [float(t.value) for t in res.finished]  # type: ignore[arg-type]


def run(sampler: str, problem: str, seed: int, budget: int) -> tuple[list[float], float]:
    """Values of one run in evaluation order, and its CPU seconds."""
    MB._quiet()
    t0 = time.process_time()
    f = test_function(problem)
    if f is None:
        ys = _run_model(sampler, MODELS[problem], seed, budget)
    elif sampler == "auto":
        ys = MB.run_tansaku("auto", f, seed, budget)
    elif sampler == "optuna":
        ys = MB.run_optuna("optuna-tpe", f, seed, budget)
    else:
        ys = MB.run_random(f, seed, budget)
    return ys, time.process_time() - t0


# -- table ---------------------------------------------------------------------------------------
def _ys(cache: MB.Cache, key: str, at_least: int) -> list[float] | None:
    """All the values of a cached run (None: missing or shorter than ``at_least``)."""
    entry = cache.data.get(key)
    return entry["ys"] if entry and len(entry["ys"]) >= at_least else None


def regret_table(problems: Sequence[str], seeds: int, budgets: Sequence[int],
                 cache: MB.Cache) -> list[str]:
    lines = ["| problem | evals | auto | optuna (TPE default) | random | auto vs optuna | auto vs random |",
             "|---|---:|---:|---:|---:|---|---|"]
    wins = cells = not_worse_random = 0
    for p in problems:
        f = test_function(p)
        longest = {s: [_ys(cache, f"{s}|{p}|{k}", min(budgets)) for k in range(seeds)]
                   for s in SAMPLERS}
        if any(r is None for rs in longest.values() for r in rs):
            lines.append(f"| {p} | - | (incomplete) | | | | |")
            continue
        # a model's "regret" is measured from the lowest error of any run of any sampler, so its
        # cells wait for every run to reach the largest budget
        if f is None and any(len(r) < max(budgets) for rs in longest.values() for r in rs):
            lines.append(f"| {p} | - | (incomplete) | | | | |")
            continue
        best = f.optimum if f is not None else min(min(r) for rs in longest.values() for r in rs)
        for b in budgets:
            runs = {s: [r[:b] for r in rs] for s, rs in longest.items()}
            if any(len(r) < b for rs in runs.values() for r in rs):  # some run stopped earlier
                lines.append(f"| {p} | {b} | (not run this far) | | | | |")
                continue
            med = {s: float(np.median([min(r) - best for r in rs])) for s, rs in runs.items()}
            win = med["auto"] <= med["optuna"]
            ok = med["auto"] <= med["random"]
            wins, cells, not_worse_random = wins + win, cells + 1, not_worse_random + ok
            ratio = med["auto"] / med["optuna"] if med["optuna"] > 0 else (1.0 if win else np.inf)
            lines.append(f"| {p} | {b} | {med['auto']:.4g} | {med['optuna']:.4g} | {med['random']:.4g} "
                         f"| {'<=' if win else '>'} ({ratio:.2f}x) | {'<=' if ok else '> WORSE'} |")
    lines += ["", f"auto no worse than Optuna's default on {wins}/{cells} cells "
              f"(target >= {int(np.ceil(0.75 * cells))}); no worse than random on "
              f"{not_worse_random}/{cells} (target {cells})"]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds, budget 50: a few minutes")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--budgets", default=None, help="default 20,50,100,200")
    ap.add_argument("--functions", default=",".join(FUNCS))
    ap.add_argument("--bbob", default=",".join(map(str, BBOB)), help="BBOB function numbers")
    ap.add_argument("--bbob-dims", default=",".join(map(str, BBOB_DIMS)))
    ap.add_argument("--sklearn", default=",".join(SKLEARN))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--cache", default="benchmarks/.auto_cache.json",
                    help="comma-separated JSON files: all are read, the first is written")
    args = ap.parse_args(argv)
    MB._quiet()
    seeds = args.seeds or (3 if args.quick else 10)
    budgets = ([int(b) for b in args.budgets.split(",")] if args.budgets
               else [20, 50] if args.quick else [20, 50, 100, 200])
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    bbob = [int(x) for x in split(args.bbob)]
    if bbob:
        try:
            import cocoex  # noqa: F401
        except ImportError:
            print("note: cocoex (pip install coco-experiment) is missing: skipping the BBOB group")
            bbob = []
    problems = problem_names(split(args.functions), bbob, [int(d) for d in split(args.bbob_dims)],
                             split(args.sklearn))
    cache = MB.Cache([Path(p) for p in args.cache.split(",")])
    top = max(budgets)
    # problem by problem (each group early, see problem_names), every sampler's seeds together
    jobs = [(s, p, k) for p in problems for s in SAMPLERS for k in range(seeds)
            if not args.report_only and cache.get(f"{s}|{p}|{k}", top) is None]
    print(f"# auto benchmark: {seeds} seeds, budgets {budgets}, {len(problems)} problems, "
          f"{len(jobs)} runs to do (cache {cache.path})", flush=True)
    cpu = 0.0
    if jobs:
        with ProcessPoolExecutor(max_workers=args.workers, initializer=MB._quiet) as pool:
            futs = {pool.submit(run, s, p, k, top): (s, p, k) for s, p, k in jobs}
            for i, fut in enumerate(as_completed(futs), 1):
                s, p, k = futs[fut]
                ys, secs = fut.result()
                cpu += secs
                cache.put(f"{s}|{p}|{k}", {"ys": ys, "seconds": secs})
                print(f"  [{i}/{len(jobs)}] {s} {p} seed={k}: {secs:.1f} s CPU", flush=True)
    per = {s: [cache.data[f"{s}|{p}|{k}"]["seconds"] for p in problems for k in range(seeds)
               if f"{s}|{p}|{k}" in cache.data] for s in SAMPLERS}
    print(f"\nCPU seconds of the runs done now: {cpu:.0f}; of all cached runs: "
          + ", ".join(f"{s} {sum(v):.0f}" for s, v in per.items()))
    print(f"\nmedian regret over {seeds} seeds (lower is better)\n")
    print("\n".join(regret_table(problems, seeds, budgets, cache)))


if __name__ == "__main__":
    main()
